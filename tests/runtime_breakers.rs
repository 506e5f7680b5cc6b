//! Breakers built at run time (a name and numbers read from configuration) are first-class: listed
//! by the registry beside the attributes' own, in its table, controllable, snapshotted, and
//! guarding calls like a static one; an `Arc`'d breaker gives `'static` owned permits.

use std::sync::Arc;
use std::time::Duration;

use breakerbox::{
    Backoff, Breaker, CallPolicy, Config, Granularity, Rejected, Reset, State, Verdict,
    circuit_breaker, registry,
};

#[derive(Debug, PartialEq)]
pub enum Error {
    Down,
    Rejected,
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

/// An annotated fn, so the registry has a breaker of the attribute too.
#[circuit_breaker(name = "runtime.static_neighbour")]
fn neighbour() -> Result<(), Error> {
    Ok(())
}

/// What a service reads at start-up.
struct Settings {
    region: String,
    threshold: u32,
    reset_secs: u64,
}

fn build(settings: &Settings) -> Breaker {
    let config = Config::builder("payments")
        .threshold(settings.threshold)
        .reset(Reset::Fixed(Duration::from_secs(settings.reset_secs)))
        .build()
        .expect("valid settings");
    Breaker::new_named(format!("payments.{}", settings.region), config)
}

#[test]
fn a_registered_breaker_is_listed_controlled_and_guards_calls() {
    let settings = Settings {
        region: "eu".to_owned(),
        threshold: 2,
        reset_secs: 10,
    };
    let payments = registry().register(build(&settings)).expect("a new name");
    assert_eq!(payments.name(), "payments.eu");
    neighbour().unwrap();

    // Listed beside the attribute's breakers, in name order, and found by name.
    let names: Vec<&str> = registry().iter().map(|b| b.name()).collect();
    assert!(names.contains(&"payments.eu"));
    assert!(names.contains(&"runtime.static_neighbour"));
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    assert!(std::ptr::eq(
        registry().get("payments.eu").unwrap(),
        payments
    ));
    assert!(registry().len() >= 2);

    // Guarding calls through the retry driver, as the attribute does.
    let policy = CallPolicy::builder()
        .attempts(2)
        .retry(Granularity::PerAttempt)
        .backoff(Backoff::Fixed(Duration::ZERO)) // a blocking call sleeps the thread
        .jitter(false)
        .build()
        .unwrap();
    let result: Result<u32, Error> =
        policy.run_blocking(payments, Verdict::transient, || Err(Error::Down));
    assert_eq!(result, Err(Error::Down));
    assert_eq!(
        payments.state(),
        State::Open,
        "2 failed attempts, threshold 2"
    );
    let m = payments.metrics();
    assert_eq!((m.admitted, m.failures, m.retries), (2, 2, 1));

    // In the table, with its state and time left open.
    let table = registry().to_string();
    let row = table
        .lines()
        .find(|l| l.starts_with("payments.eu "))
        .expect("a row of its own");
    assert!(row.contains("open"), "{row}");
    let open_for: f64 = row
        .split_whitespace()
        .last()
        .and_then(|s| s.strip_suffix('s'))
        .and_then(|s| s.parse().ok())
        .expect("time left open");
    assert!((9.0..=10.0).contains(&open_for), "{row}");

    // Controllable through the registry like any other.
    registry().get("payments.eu").unwrap().reset();
    assert_eq!(payments.state(), State::Closed);
    assert!(payments.call_sites().is_empty(), "no fn calls through it");
}

#[test]
fn a_second_breaker_under_a_taken_name_is_refused() {
    let settings = Settings {
        region: "us".to_owned(),
        threshold: 5,
        reset_secs: 30,
    };
    registry().register(build(&settings)).expect("a new name");
    let err = registry().register(build(&settings)).unwrap_err();
    let duplicate = err.iter().next().unwrap();
    assert_eq!(duplicate.name(), "payments.us");
    assert_eq!(duplicate.locations().len(), 2);
    // Nor may it take an attribute's name.
    let config = Config::builder("x").build().unwrap();
    let clash = Breaker::new_named(String::from("runtime.static_neighbour"), config);
    assert!(registry().register(clash).is_err());
}

#[test]
fn owned_permits_are_static_and_settle_on_any_thread() {
    let api = Arc::new(Breaker::new_named(
        String::from("runtime.owned"),
        Config::builder("api").threshold(1).build().unwrap(),
    ));
    let permits: Vec<_> = (0..4).map(|_| api.acquire_owned().unwrap()).collect();
    let handles: Vec<_> = permits
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            std::thread::spawn(move || match i {
                0 | 1 => p.success(),
                2 => drop(p),
                _ => p.ignore(),
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    let m = api.metrics();
    assert_eq!(
        (m.admitted, m.successes, m.cancelled, m.ignored),
        (4, 2, 1, 1)
    );
    let failing = api.acquire_owned().unwrap();
    failing.failure();
    assert!(matches!(api.acquire_owned(), Err(r) if r.breaker() == "runtime.owned"));
    assert_eq!(
        Arc::strong_count(&api),
        1,
        "settled permits hold no reference"
    );
}

#[cfg(feature = "serde")]
#[test]
fn a_registered_breaker_is_in_the_snapshot() {
    let config = Config::builder("x").build().unwrap();
    let inventory = registry()
        .register(Breaker::new_named(
            String::from("runtime.snapshotted"),
            config,
        ))
        .unwrap();
    inventory.force_open();
    let snapshot = registry().snapshot();
    let json = serde_json::to_value(&snapshot).unwrap();
    let saved = json["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "runtime.snapshotted")
        .expect("in the snapshot");
    assert_eq!(saved["state"], "forced_open");
    // (Not restored here: a restore applies to every breaker, and the other tests of this binary
    // run beside this one. tests/snapshot_restart.rs restores in a process of its own.)
}
