//! R3 through the attribute: a panic inside the call is recorded as a failure, releases its permit
//! and keeps unwinding; a call dropped while a panic that began outside it unwinds is a
//! cancellation, which gives a half-open slot back and records nothing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use breakerbox::{Breaker, Rejected, State, circuit_breaker, shared_breaker};

#[derive(Debug)]
pub enum Error {
    Down,
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

fn breaker(name: &str) -> &'static Breaker {
    breakerbox::registry().get(name).expect("registered")
}

#[circuit_breaker(name = "panics.sync", threshold = 2)]
fn sync_call(panics: bool) -> Result<u32, Error> {
    if panics {
        panic!("the call's own bug");
    }
    Ok(1)
}

#[test]
fn a_panic_inside_a_sync_call_is_a_failure_and_keeps_unwinding() {
    let panic = catch_unwind(|| sync_call(true)).expect_err("the panic propagates");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"the call's own bug"));
    let m = breaker("panics.sync").metrics();
    assert_eq!((m.admitted, m.failures, m.cancelled), (1, 1, 0));
    assert_eq!(m.consecutive_failures, 1);
    assert_eq!(sync_call(false).unwrap(), 1);
}

#[circuit_breaker(
    name = "panics.async",
    threshold = 1,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn async_call() -> Result<u32, Error> {
    tokio::task::yield_now().await;
    panic!("the call's own bug");
}

#[tokio::test(start_paused = true)]
async fn a_panic_inside_an_async_call_is_a_failure() {
    let joined = tokio::spawn(async_call()).await;
    assert!(joined.expect_err("the task panicked").is_panic());
    let b = breaker("panics.async");
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.failures, m.cancelled, m.retries),
        (1, 1, 0, 0)
    );
    assert_eq!(
        b.state(),
        State::Open,
        "threshold 1: the panic was a failure"
    );
}

#[shared_breaker(threshold = 1, reset = "1s..8s")]
static HELD: Breaker;

#[circuit_breaker(shared = HELD)]
async fn fail_now() -> Result<u32, Error> {
    Err(Error::Down)
}

#[circuit_breaker(shared = HELD)]
async fn slow_probe() -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(1)
}

/// The probe is admitted and waiting when the task holding it panics in its own code: the probe is
/// cancelled, not failed. Before, it was recorded as a failed probe and advanced the backoff.
#[tokio::test(start_paused = true)]
async fn a_probe_dropped_by_its_tasks_own_panic_is_cancelled() {
    assert!(matches!(fail_now().await, Err(Error::Down)));
    assert_eq!(HELD.state(), State::Open);
    tokio::time::advance(Duration::from_secs(1)).await;

    let task = tokio::spawn(async {
        let mut probe = std::pin::pin!(slow_probe());
        tokio::select! {
            biased;
            _ = &mut probe => unreachable!("the probe sleeps for a minute"),
            () = tokio::task::yield_now() => {}
        }
        panic!("the task's own bug, while it holds the probe");
    });
    assert!(task.await.expect_err("the task panicked").is_panic());

    let m = HELD.metrics();
    assert_eq!((m.admitted, m.failures, m.cancelled), (2, 1, 1));
    assert_eq!(HELD.state(), State::HalfOpen, "the round goes on");
    let probe = HELD.try_acquire().expect("the slot was given back");
    assert!(probe.is_probe());
    probe.failure();
    // One failed round: the next period is the second step of 1s..8s.
    assert_eq!(HELD.remaining_open(), Some(Duration::from_secs(2)));
}

#[circuit_breaker(name = "panics.outer", threshold = 5)]
fn outer() -> Result<u32, Error> {
    inner()
}

#[circuit_breaker(name = "panics.inner", threshold = 5)]
fn inner() -> Result<u32, Error> {
    panic!("deep inside");
}

#[test]
fn a_panic_inside_nested_calls_fails_both() {
    let _ = catch_unwind(AssertUnwindSafe(outer)).expect_err("the panic propagates");
    for name in ["panics.outer", "panics.inner"] {
        let m = breaker(name).metrics();
        assert_eq!((m.admitted, m.failures, m.cancelled), (1, 1, 0), "{name}");
    }
}
