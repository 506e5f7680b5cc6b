//! Every annotated fn's breaker is in the registry from process start, before its first call.

use breaker::{Granularity, Rejected, State, circuit_breaker};

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
    let breaker = breaker::registry()
        .get(name)
        .expect("listed before any call");
    assert_eq!(breaker.name(), name);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.metrics().admitted, 0);
    assert_eq!(
        breaker.config().policy(),
        breaker::TripPolicy::Consecutive { threshold: 7 }
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
    let breaker = breaker::registry()
        .get("registry-test-inventory")
        .expect("listed by its name");
    assert!(
        breaker::registry()
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
