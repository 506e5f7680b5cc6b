//! A breaker reset between two tests starts the second with empty counts, as `Breaker::reset`'s
//! docs say. The registry is global and test threads run in parallel, so the two tests take turns
//! through a lock (the pattern the crate docs show); each resets, then asserts exact counts.

use std::sync::Mutex;

use breakerbox::{Metrics, Rejected, State, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(name = "reset.between.tests", threshold = 3)]
fn lookup(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error) } else { Ok(1) }
}

/// One test at a time touches the shared breaker.
static SERIAL: Mutex<()> = Mutex::new(());

fn fresh() -> (
    std::sync::MutexGuard<'static, ()>,
    &'static breakerbox::Breaker,
) {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let breaker = breakerbox::registry().get("reset.between.tests").unwrap();
    breaker.reset();
    assert_eq!(breaker.metrics(), Metrics::default());
    (guard, breaker)
}

#[test]
fn first_test_opens_the_breaker() {
    let (_serial, breaker) = fresh();
    for _ in 0..3 {
        assert!(lookup(true).is_err());
    }
    assert_eq!(breaker.state(), State::Open);
    let m = breaker.metrics();
    assert_eq!((m.admitted, m.failures, m.rejected), (3, 3, 0));
}

#[test]
fn second_test_starts_from_nothing() {
    let (_serial, breaker) = fresh();
    assert!(lookup(true).is_err());
    assert!(lookup(true).is_err());
    assert_eq!(lookup(false).unwrap(), 1);
    let m = breaker.metrics();
    assert_eq!((m.admitted, m.failures, m.successes), (3, 2, 1));
    assert_eq!(
        breaker.state(),
        State::Closed,
        "two failures of its own, not five"
    );
}
