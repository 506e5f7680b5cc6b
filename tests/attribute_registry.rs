//! Every annotated fn's breaker is in the registry from process start, before its first call.

use breakerbox::{Granularity, Rejected, State, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(threshold = 7)]
pub async fn never_called() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(
    name = "registry-test-inventory",
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
pub fn named() -> Result<(), Error> {
    Ok(())
}

#[test]
fn listed_before_the_first_call_under_the_default_name() {
    let name = concat!(module_path!(), "::never_called");
    let breaker = breakerbox::registry()
        .get(name)
        .expect("listed before any call");
    assert_eq!(breaker.name(), name);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().admitted, 0);
    assert_eq!(
        breaker.config().policy(),
        breakerbox::TripPolicy::Consecutive { threshold: 7 }
    );
    let sites = breaker.call_sites();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].function(), name);
    assert_eq!(sites[0].policy().attempts(), 1);
    assert!(
        breaker
            .config()
            .location()
            .is_some_and(|l| l.file.ends_with("attribute_registry.rs"))
    );
}

#[test]
fn listed_under_its_given_name() {
    let breaker = breakerbox::registry()
        .get("registry-test-inventory")
        .expect("listed by its name");
    assert!(
        breakerbox::registry()
            .get(concat!(module_path!(), "::named"))
            .is_none()
    );
    let sites = breaker.call_sites();
    assert_eq!(sites.len(), 1);
    assert_eq!(sites[0].function(), concat!(module_path!(), "::named"));
    assert_eq!(sites[0].policy().attempts(), 3);
    assert_eq!(sites[0].policy().granularity(), Granularity::PerCall);
    named().expect("closed");
    assert_eq!(breaker.metrics().successes, 1);
}

#[circuit_breaker(
    name = "registry-test-table",
    failure_rate = 50,
    min_calls = 2,
    reset = "30s"
)]
pub async fn tabled(fail: bool) -> Result<(), Error> {
    if fail { Err(Error) } else { Ok(()) }
}

#[tokio::test(start_paused = true)]
async fn the_registry_prints_a_table() {
    let _ = tabled(false).await;
    let table = breakerbox::registry().to_string();
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(table.starts_with("BREAKER"), "{table}");
    assert_eq!(
        row("registry-test-table"),
        "registry-test-table closed 0% of 1 (opens at 50%) 0 0 -"
    );
    let _ = tabled(true).await; // 1 of 2 failed: 50 %
    let _ = tabled(true).await; // rejected
    let table = breakerbox::registry().to_string();
    let line = table
        .lines()
        .find(|l| l.starts_with("registry-test-table"))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cells[..2], ["registry-test-table", "open"], "{table}");
    // Rejected calls, retries the budget denied, time left open.
    assert_eq!(cells[cells.len() - 3..], ["1", "0", "30.0s"], "{table}");
}
