//! R11 and R12 through the attribute keys `budget` and `nested`, with paused time and exact
//! counts: the same storms and nestings that `breaker-core/tests/budget.rs` and
//! `breaker-core/tests/nesting.rs` run through the programmatic API.

use std::sync::atomic::{AtomicU32, Ordering};

use breakerbox::{Budget, Nested, Rejected, circuit_breaker, registry, shared_breaker};

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

/// Counts a request to the failing service, and fails.
fn request(sent: &AtomicU32) -> Result<(), Error> {
    sent.fetch_add(1, Ordering::SeqCst);
    Err(Error::Down)
}

// ---- budget ----

static OFF_SENT: AtomicU32 = AtomicU32::new(0);
static DEFAULT_SENT: AtomicU32 = AtomicU32::new(0);
static PERCENT_SENT: AtomicU32 = AtomicU32::new(0);
static HALF_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "keys.storm.off",
    threshold = 1_000_000,
    budget = "off",
    attempts = 3,
    retry = "per_call",
    backoff = "100ms",
    jitter = false
)]
async fn storm_off() -> Result<(), Error> {
    request(&OFF_SENT)
}

#[circuit_breaker(
    name = "keys.storm.default",
    threshold = 1_000_000,
    attempts = 3,
    retry = "per_call",
    backoff = "100ms",
    jitter = false
)]
async fn storm_default() -> Result<(), Error> {
    request(&DEFAULT_SENT)
}

#[circuit_breaker(
    name = "keys.storm.percent",
    threshold = 1_000_000,
    budget = "20%",
    attempts = 3,
    retry = "per_attempt",
    backoff = "100ms",
    jitter = false
)]
async fn storm_percent() -> Result<(), Error> {
    request(&PERCENT_SENT)
}

/// A shared breaker carries the budget of every fn on it.
#[shared_breaker(name = "keys.storm.half", threshold = 1_000_000, budget = "50%")]
static HALF: breakerbox::Breaker;

#[circuit_breaker(shared = HALF, attempts = 3, retry = "per_call", backoff = "100ms", jitter = false)]
async fn storm_half() -> Result<(), Error> {
    request(&HALF_SENT)
}

/// 1,000 calls of `f` at once, on the test's current-thread runtime.
async fn storm<F>(f: fn() -> F)
where
    F: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let tasks: Vec<_> = (0..1_000).map(|_| tokio::spawn(f())).collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err(Error::Down));
    }
}

#[tokio::test(start_paused = true)]
async fn the_budget_key_bounds_a_storm_of_1000_failing_calls() {
    assert_eq!(
        registry().get("keys.storm.off").unwrap().config().budget(),
        Budget::Off
    );
    assert_eq!(
        registry()
            .get("keys.storm.default")
            .unwrap()
            .config()
            .budget(),
        Budget::DEFAULT
    );
    assert_eq!(HALF.config().budget(), Budget::Percent(50));

    storm(storm_off).await;
    assert_eq!(OFF_SENT.load(Ordering::SeqCst), 3_000);
    storm(storm_default).await;
    assert_eq!(DEFAULT_SENT.load(Ordering::SeqCst), 1_200);
    storm(storm_percent).await;
    assert_eq!(PERCENT_SENT.load(Ordering::SeqCst), 1_200);
    // 50%: 500 retries, granted one for every two first attempts.
    storm(storm_half).await;
    assert_eq!(HALF_SENT.load(Ordering::SeqCst), 1_500);
    let m = HALF.metrics();
    assert_eq!((m.retries, m.retries_denied), (500, 1_000));
}

static RARE_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "keys.rare",
    budget = "20%",
    attempts = 3,
    retry = "per_call",
    backoff = "1s"
)]
async fn rare() -> Result<(), Error> {
    request(&RARE_SENT)
}

#[tokio::test(start_paused = true)]
async fn a_fn_called_a_few_times_a_minute_retries_as_written() {
    for _ in 0..5 {
        assert_eq!(rare().await, Err(Error::Down));
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
    assert_eq!(RARE_SENT.load(Ordering::SeqCst), 15);
    // threshold 5 (the default): the 5th call's failure opened it, after its retries.
    assert_eq!(
        registry()
            .get("keys.rare")
            .unwrap()
            .metrics()
            .retries_denied,
        0
    );
}

// ---- nested ----

static NESTED_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "keys.inner.single",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn inner_single() -> Result<(), Error> {
    request(&NESTED_SENT)
}

#[circuit_breaker(
    name = "keys.inner.retry",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms",
    nested = "retry"
)]
async fn inner_retry() -> Result<(), Error> {
    request(&NESTED_SENT)
}

#[circuit_breaker(
    name = "keys.outer",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn outer(retrying_inner: bool) -> Result<(), Error> {
    if retrying_inner {
        inner_retry().await
    } else {
        inner_single().await
    }
}

#[tokio::test(start_paused = true)]
async fn outer_3_inner_3_is_3_requests_per_outer_call_or_9_with_nested_retry() {
    let site = |name: &str| registry().get(name).unwrap().call_sites()[0];
    assert_eq!(site("keys.inner.retry").policy().nested(), Nested::Retry);
    assert_eq!(site("keys.inner.single").policy().nested(), Nested::Single);

    for (retrying_inner, per_outer_call) in [(false, 3), (true, 9)] {
        assert_eq!(outer(retrying_inner).await, Err(Error::Down));
        assert_eq!(NESTED_SENT.swap(0, Ordering::SeqCst), per_outer_call);
    }
    let worst: Vec<(&str, u32)> = registry()
        .edges()
        .filter(|e| e.outer().breaker().name() == "keys.outer")
        .map(|e| (e.inner().breaker().name(), e.worst_case()))
        .collect();
    assert_eq!(worst, [("keys.inner.single", 3), ("keys.inner.retry", 9)]);
}
