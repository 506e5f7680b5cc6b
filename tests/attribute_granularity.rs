//! What the breaker counts when a fn retries: `retry = "per_attempt"` against `"per_call"`, through
//! the attribute. Every fn has its own breaker; time is tokio's paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breakerbox::{Rejected, State, circuit_breaker};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Down,
    Rejected(Rejected),
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Rejected(r)
    }
}

fn is_rejected<T>(result: &Result<T, ApiError>) -> bool {
    matches!(result, Err(ApiError::Rejected(_)))
}

static PER_ATTEMPT_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 5, attempts = 3, retry = "per_attempt", backoff = "100ms")]
async fn per_attempt_down() -> Result<(), ApiError> {
    PER_ATTEMPT_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn per_attempt_opens_after_5_failed_requests() {
    // Call 1: three attempts, three failures.
    assert_eq!(per_attempt_down().await, Err(ApiError::Down));
    assert_eq!(PER_ATTEMPT_RUNS.load(Ordering::Relaxed), 3);
    assert_eq!(breaker_of("per_attempt_down").state(), State::Closed);
    // Call 2: the fifth failed request opens it, and the call ends there with the real error.
    assert_eq!(per_attempt_down().await, Err(ApiError::Down));
    assert_eq!(PER_ATTEMPT_RUNS.load(Ordering::Relaxed), 5);
    let breaker = breaker_of("per_attempt_down");
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.metrics().failures, 5);
    // Call 3 does not run.
    assert!(is_rejected(&per_attempt_down().await));
    assert_eq!(PER_ATTEMPT_RUNS.load(Ordering::Relaxed), 5);
}

static PER_CALL_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 5, attempts = 3, retry = "per_call", backoff = "100ms")]
async fn per_call_down() -> Result<(), ApiError> {
    PER_CALL_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn per_call_opens_after_15_failed_requests() {
    for call in 1..=4 {
        assert_eq!(per_call_down().await, Err(ApiError::Down));
        assert_eq!(PER_CALL_RUNS.load(Ordering::Relaxed), call * 3);
        assert_eq!(breaker_of("per_call_down").state(), State::Closed);
    }
    assert_eq!(per_call_down().await, Err(ApiError::Down));
    assert_eq!(PER_CALL_RUNS.load(Ordering::Relaxed), 15);
    let breaker = breaker_of("per_call_down");
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.metrics().failures, 5);
    assert_eq!(breaker.metrics().retries, 10);
    assert!(is_rejected(&per_call_down().await));
    assert_eq!(PER_CALL_RUNS.load(Ordering::Relaxed), 15);
}

static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 3, attempts = 3, retry = "per_attempt", backoff = "10ms")]
async fn flaky() -> Result<u32, ApiError> {
    let run = FLAKY_RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    if run < 3 {
        Err(ApiError::Down)
    } else {
        Ok(run)
    }
}

#[tokio::test(start_paused = true)]
async fn per_attempt_records_every_attempt() {
    assert_eq!(flaky().await, Ok(3));
    let m = breaker_of("flaky").metrics();
    assert_eq!(
        (m.admitted, m.failures, m.successes, m.retries),
        (3, 2, 1, 2)
    );
    assert_eq!(m.consecutive_failures, 0);
    assert_eq!(breaker_of("flaky").state(), State::Closed);
}

static PER_CALL_ONCE_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 5, attempts = 3, retry = "per_call", backoff = "10ms")]
async fn per_call_once() -> Result<(), ApiError> {
    PER_CALL_ONCE_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn per_call_records_one_outcome_per_call() {
    assert_eq!(per_call_once().await, Err(ApiError::Down));
    assert_eq!(PER_CALL_ONCE_RUNS.load(Ordering::Relaxed), 3);
    let m = breaker_of("per_call_once").metrics();
    assert_eq!((m.admitted, m.failures, m.retries), (1, 1, 2));
    assert_eq!(m.consecutive_failures, 1);
}

static OPENS_AT_ONCE_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    threshold = 1,
    attempts = 3,
    retry = "per_attempt",
    backoff = "1s",
    jitter = false
)]
async fn opens_at_once() -> Result<(), ApiError> {
    OPENS_AT_ONCE_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn per_attempt_stops_without_sleeping_when_the_breaker_opens() {
    let start = Instant::now();
    // The first failure opens the breaker: no second attempt, no backoff, the real error.
    assert_eq!(opens_at_once().await, Err(ApiError::Down));
    assert_eq!(Instant::now(), start);
    assert_eq!(OPENS_AT_ONCE_RUNS.load(Ordering::Relaxed), 1);
    // The next call is refused without running.
    let refused = opens_at_once().await;
    assert!(is_rejected(&refused));
    assert_eq!(OPENS_AT_ONCE_RUNS.load(Ordering::Relaxed), 1);
    assert_eq!(Instant::now(), start);
    let m = breaker_of("opens_at_once").metrics();
    // Two refusals: the first call's second attempt (asked for before any wait) and the second
    // call.
    assert_eq!((m.failures, m.rejected, m.retries), (1, 2, 0));
}

static PROBE_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    threshold = 1,
    reset = "1s",
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn probed() -> Result<(), ApiError> {
    PROBE_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn per_call_probe_makes_one_attempt() {
    assert_eq!(probed().await, Err(ApiError::Down));
    assert_eq!(PROBE_RUNS.load(Ordering::Relaxed), 3);
    assert_eq!(breaker_of("probed").state(), State::Open);
    tokio::time::advance(Duration::from_secs(1)).await;
    // The half-open probe is one request, not three.
    assert_eq!(probed().await, Err(ApiError::Down));
    assert_eq!(PROBE_RUNS.load(Ordering::Relaxed), 4);
    assert_eq!(breaker_of("probed").state(), State::Open);
}

/// The breaker of an annotated fn, by the default name `module_path::fn_name`.
fn breaker_of(function: &str) -> &'static breakerbox::Breaker {
    let name = format!("{}::{function}", module_path!());
    breakerbox::registry()
        .get(&name)
        .unwrap_or_else(|| panic!("no breaker named {name}"))
}
