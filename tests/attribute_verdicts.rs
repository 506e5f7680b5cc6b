//! What each outcome means through the attribute: `classify` verdicts, attempt timeouts, panics.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breakerbox::{Rejected, State, TimedOut, Verdict, circuit_breaker};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    /// The service is down: worth another try.
    Unavailable,
    /// The service refused the request for good.
    Invalid,
    /// The caller asked for something that does not exist.
    NotFound,
    Rejected(Rejected),
    TimedOut(TimedOut),
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Rejected(r)
    }
}

impl From<TimedOut> for ApiError {
    fn from(t: TimedOut) -> Self {
        ApiError::TimedOut(t)
    }
}

fn classify(error: &ApiError) -> Verdict {
    match error {
        ApiError::NotFound => Verdict::Ignore,
        ApiError::Invalid => Verdict::Permanent,
        _ => Verdict::Transient,
    }
}

fn breaker_of(function: &str) -> &'static breakerbox::Breaker {
    let name = format!("{}::{function}", module_path!());
    breakerbox::registry()
        .get(&name)
        .unwrap_or_else(|| panic!("no breaker named {name}"))
}

static IGNORED_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 1, attempts = 3, retry = "per_attempt", backoff = "10ms", classify = classify)]
async fn not_found() -> Result<(), ApiError> {
    IGNORED_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::NotFound)
}

#[tokio::test(start_paused = true)]
async fn ignore_is_neither_recorded_nor_retried() {
    for call in 1..=3 {
        assert_eq!(not_found().await, Err(ApiError::NotFound));
        assert_eq!(IGNORED_RUNS.load(Ordering::Relaxed), call);
    }
    let breaker = breaker_of("not_found");
    let m = breaker.metrics();
    assert_eq!((m.ignored, m.failures, m.retries), (3, 0, 0));
    // `threshold = 1`: a single recorded failure would have opened it.
    assert_eq!(breaker.state(), State::Closed);
}

static PERMANENT_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 2, attempts = 3, retry = "per_call", backoff = "10ms", classify = classify)]
async fn invalid() -> Result<(), ApiError> {
    PERMANENT_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(ApiError::Invalid)
}

#[tokio::test(start_paused = true)]
async fn permanent_is_recorded_and_not_retried() {
    assert_eq!(invalid().await, Err(ApiError::Invalid));
    assert_eq!(PERMANENT_RUNS.load(Ordering::Relaxed), 1);
    let m = breaker_of("invalid").metrics();
    assert_eq!((m.failures, m.retries, m.consecutive_failures), (1, 0, 1));
    assert_eq!(invalid().await, Err(ApiError::Invalid));
    assert_eq!(breaker_of("invalid").state(), State::Open);
}

static ROUTED_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(threshold = 10, attempts = 2, retry = "per_attempt", backoff = "10ms", classify = classify)]
async fn routed(error: ApiError) -> Result<(), ApiError> {
    ROUTED_RUNS.fetch_add(1, Ordering::Relaxed);
    Err(error)
}

#[tokio::test(start_paused = true)]
async fn classify_routes_each_error() {
    let runs = || ROUTED_RUNS.load(Ordering::Relaxed);
    assert_eq!(
        routed(ApiError::Unavailable).await,
        Err(ApiError::Unavailable)
    );
    assert_eq!(runs(), 2, "transient: retried");
    assert_eq!(routed(ApiError::Invalid).await, Err(ApiError::Invalid));
    assert_eq!(runs(), 3, "permanent: not retried");
    assert_eq!(routed(ApiError::NotFound).await, Err(ApiError::NotFound));
    assert_eq!(runs(), 4, "ignored: not retried");
    let m = breaker_of("routed").metrics();
    assert_eq!((m.failures, m.ignored, m.retries), (3, 1, 1));
}

static SLOW_RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    threshold = 5,
    attempts = 2,
    retry = "per_attempt",
    backoff = "10ms",
    timeout = "100ms"
)]
async fn slow() -> Result<u32, ApiError> {
    SLOW_RUNS.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn timeout_is_recorded_and_retried() {
    let result = slow().await;
    assert!(
        matches!(&result, Err(ApiError::TimedOut(t)) if t.after() == Duration::from_millis(100)),
        "{result:?}"
    );
    assert_eq!(SLOW_RUNS.load(Ordering::Relaxed), 2);
    let m = breaker_of("slow").metrics();
    assert_eq!((m.timeouts, m.failures, m.retries), (2, 2, 1));
}

static HANG_STARTS: AtomicU32 = AtomicU32::new(0);
static HANG_DROPS: AtomicU32 = AtomicU32::new(0);

/// What an attempt holds while it runs (a connection, a nested call's permit): counted when
/// dropped.
struct Held;

impl Drop for Held {
    fn drop(&mut self) {
        HANG_DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[circuit_breaker(
    threshold = 5,
    attempts = 2,
    retry = "per_attempt",
    backoff = "1s",
    jitter = false,
    timeout = "100ms"
)]
async fn hangs() -> Result<u32, ApiError> {
    HANG_STARTS.fetch_add(1, Ordering::Relaxed);
    let _held = Held;
    std::future::pending::<()>().await;
    Ok(1)
}

async fn settle_tasks() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn hang_counts() -> (u32, u32) {
    (
        HANG_STARTS.load(Ordering::Relaxed),
        HANG_DROPS.load(Ordering::Relaxed),
    )
}

#[tokio::test(start_paused = true)]
async fn an_attempt_cut_off_by_its_timeout_is_dropped_before_the_backoff() {
    let call = tokio::spawn(hangs());
    settle_tasks().await;
    assert_eq!(hang_counts(), (1, 0), "the first attempt runs");
    tokio::time::advance(Duration::from_millis(100)).await;
    settle_tasks().await;
    assert_eq!(
        hang_counts(),
        (1, 1),
        "cut off: dropped at once, not after the backoff"
    );
    tokio::time::advance(Duration::from_millis(999)).await;
    settle_tasks().await;
    assert_eq!(hang_counts(), (1, 1), "the 1 s backoff is not over");
    tokio::time::advance(Duration::from_millis(1)).await;
    settle_tasks().await;
    assert_eq!(hang_counts(), (2, 1), "the second attempt runs");
    tokio::time::advance(Duration::from_millis(100)).await;
    let result = call.await.unwrap();
    assert!(
        matches!(&result, Err(ApiError::TimedOut(t)) if t.after() == Duration::from_millis(100)),
        "{result:?}"
    );
    assert_eq!(hang_counts(), (2, 2));
    let m = breaker_of("hangs").metrics();
    assert_eq!((m.timeouts, m.failures, m.retries), (2, 2, 1));
}

/// Ready on its first poll, with a `timeout` and attempts to spare.
#[circuit_breaker(threshold = 5, attempts = 3, retry = "per_call", timeout = "1s")]
async fn ready_at_once() -> Result<u32, ApiError> {
    Ok(3)
}

/// An attempt that completes on its first poll makes no timer, though its fn sets a `timeout`:
/// polled once with no tokio runtime to make one on, the call is over.
#[test]
fn an_attempt_ready_at_once_makes_no_timer() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    let mut call = std::pin::pin!(ready_at_once());
    let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert_eq!(polled, Poll::Ready(Ok(3)));
    let m = breaker_of("ready_at_once").metrics();
    assert_eq!((m.successes, m.timeouts, m.retries), (1, 0, 0));
}

static PANIC_RUNS: AtomicU32 = AtomicU32::new(0);

/// Fails, then panics, then succeeds.
#[circuit_breaker(threshold = 1, reset = "1s")]
async fn panics_once() -> Result<u32, ApiError> {
    match PANIC_RUNS.fetch_add(1, Ordering::Relaxed) {
        0 => Err(ApiError::Unavailable),
        1 => panic!("the probe panics"),
        run => Ok(run),
    }
}

#[tokio::test(start_paused = true)]
async fn panic_is_recorded_releases_its_permit_and_propagates() {
    let breaker = breaker_of("panics_once");
    assert_eq!(panics_once().await, Err(ApiError::Unavailable));
    assert_eq!(breaker.state(), State::Open);
    tokio::time::advance(Duration::from_secs(1)).await;
    // The half-open probe panics: the panic reaches the caller, and is recorded as a failure.
    let joined = tokio::spawn(panics_once()).await;
    assert!(joined.unwrap_err().is_panic());
    assert_eq!(breaker.metrics().failures, 2);
    assert_eq!(breaker.state(), State::Open);
    // Its permit was given back: the next round's probe is admitted, and closes the breaker.
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(panics_once().await, Ok(2));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(panics_once().await, Ok(3));
}
