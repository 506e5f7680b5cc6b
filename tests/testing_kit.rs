//! The test kit (feature `testing`): `isolate` serializes the tests that take it and resets around
//! each, even after a panic; `set_jitter` pins the waits; `fail_next` makes the next attempts
//! through a breaker fail without running the body, recorded, classified and retried as the error
//! would be, through the attribute's expansion (async and blocking, one attempt or many) and
//! `CallPolicy::run` / `run_blocking`. Time is paused; no test sleeps in real time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breakerbox::testing::{self, Jitter};
use breakerbox::{
    Backoff, Breaker, CallPolicy, Config, Granularity, Metrics, Rejected, State, TimedOut, Verdict,
    circuit_breaker, registry, shared_breaker,
};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    Down,
    NotFound,
    Invalid,
    Rejected,
    TimedOut,
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

fn classify(error: &Error) -> Verdict {
    match error {
        Error::NotFound => Verdict::Ignore,
        Error::Invalid => Verdict::Permanent,
        _ => Verdict::Transient,
    }
}

fn breaker(name: &str) -> &'static Breaker {
    registry().get(name).expect("listed")
}

fn counts(b: &Breaker) -> (u64, u64, u64, u64) {
    let m = b.metrics();
    (m.admitted, m.failures, m.successes, m.retries)
}

/// Bodies that ran, per fn.
static RAN_FETCH: AtomicU32 = AtomicU32::new(0);
static RAN_CHARGE: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "kit.fetch", threshold = 10, attempts = 3, retry = "per_attempt", backoff = "100ms..1s", classify = classify)]
async fn fetch() -> Result<&'static str, Error> {
    RAN_FETCH.fetch_add(1, Ordering::Relaxed);
    Ok("fresh")
}

#[circuit_breaker(
    name = "kit.charge",
    threshold = 2,
    attempts = 3,
    retry = "per_call",
    backoff = "100ms"
)]
async fn charge() -> Result<u32, Error> {
    RAN_CHARGE.fetch_add(1, Ordering::Relaxed);
    Ok(7)
}

#[tokio::test(start_paused = true)]
async fn per_attempt_faults_are_recorded_and_retried_with_exact_waits() {
    let _guard = testing::isolate();
    testing::set_jitter(Jitter::Max);
    testing::fail_next("kit.fetch", 2, || Error::Down);
    let ran = RAN_FETCH.load(Ordering::Relaxed);

    let start = Instant::now();
    assert_eq!(fetch().await, Ok("fresh"));
    assert_eq!(start.elapsed(), Duration::from_millis(100 + 200));
    assert_eq!(
        RAN_FETCH.load(Ordering::Relaxed) - ran,
        1,
        "the body ran once"
    );
    assert_eq!(counts(breaker("kit.fetch")), (3, 2, 1, 2));
    assert_eq!(testing::faults_left("kit.fetch"), 0);

    // Nothing left armed: the next call runs its body at once.
    assert_eq!(fetch().await, Ok("fresh"));
    assert_eq!(RAN_FETCH.load(Ordering::Relaxed) - ran, 2);
}

#[tokio::test(start_paused = true)]
async fn per_call_faults_make_one_failed_call_then_open_the_breaker() {
    let _guard = testing::isolate();
    testing::set_jitter(Jitter::Min);
    testing::fail_next("kit.charge", 6, || Error::Down);
    let ran = RAN_CHARGE.load(Ordering::Relaxed);
    let b = breaker("kit.charge");

    let start = Instant::now();
    assert_eq!(charge().await, Err(Error::Down));
    assert_eq!(start.elapsed(), Duration::ZERO, "waits pinned to zero");
    assert_eq!(
        counts(b),
        (1, 1, 0, 2),
        "one call, one failure, three attempts"
    );
    assert_eq!(testing::faults_left("kit.charge"), 3);

    // The second failed call opens it (threshold = 2 calls)...
    assert_eq!(charge().await, Err(Error::Down));
    assert_eq!(b.state(), State::Open);
    // ...and a refused call takes no fault and runs nothing.
    assert_eq!(charge().await, Err(Error::Rejected));
    assert_eq!(testing::faults_left("kit.charge"), 0);
    assert_eq!(b.metrics().rejected, 1);
    assert_eq!(RAN_CHARGE.load(Ordering::Relaxed), ran);
}

#[circuit_breaker(
    name = "kit.brittle",
    threshold = 2,
    attempts = 3,
    retry = "per_attempt",
    backoff = "1s"
)]
async fn brittle() -> Result<(), Error> {
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn injected_failures_open_a_per_attempt_breaker_mid_call() {
    let _guard = testing::isolate();
    testing::set_jitter(Jitter::Max);
    testing::fail_next("kit.brittle", 3, || Error::Down);
    let b = breaker("kit.brittle");

    let start = Instant::now();
    assert_eq!(brittle().await, Err(Error::Down));
    // The second failure opens it; the third attempt is refused before the wait (R1).
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(b.state(), State::Open);
    assert_eq!(counts(b), (2, 2, 0, 1));
    assert_eq!(testing::faults_left("kit.brittle"), 1);
}

#[circuit_breaker(name = "kit.lookup", threshold = 1, attempts = 3, retry = "per_attempt", backoff = "100ms", classify = classify)]
fn lookup() -> Result<u32, Error> {
    Ok(1)
}

#[test]
fn injected_errors_are_classified_as_the_bodys_would_be() {
    let _guard = testing::isolate();
    let b = breaker("kit.lookup");

    // `Ignore`: neither recorded nor retried.
    testing::fail_next("kit.lookup", 1, || Error::NotFound);
    assert_eq!(lookup(), Err(Error::NotFound));
    let m = b.metrics();
    assert_eq!((m.admitted, m.ignored, m.failures, m.retries), (1, 1, 0, 0));
    assert_eq!(b.state(), State::Closed);

    // `Permanent`: recorded (threshold 1 opens it), not retried.
    testing::fail_next("kit.lookup", 2, || Error::Invalid);
    assert_eq!(lookup(), Err(Error::Invalid));
    let m = b.metrics();
    assert_eq!((m.admitted, m.failures, m.retries), (2, 1, 0));
    assert_eq!(b.state(), State::Open);
    assert_eq!(testing::faults_left("kit.lookup"), 1);
}

#[circuit_breaker(name = "kit.slow_report", timeout = "1s")]
async fn slow_report() -> Result<(), Error> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_injected_attempt_does_not_wait_for_its_timeout() {
    let _guard = testing::isolate();
    testing::fail_next("kit.slow_report", 1, || Error::Down);
    let b = breaker("kit.slow_report");

    let start = Instant::now();
    assert_eq!(slow_report().await, Err(Error::Down));
    assert_eq!(start.elapsed(), Duration::ZERO);
    let m = b.metrics();
    assert_eq!((m.admitted, m.failures, m.timeouts), (1, 1, 0));

    // Unarmed, the body runs and times out.
    assert_eq!(slow_report().await, Err(Error::TimedOut));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(b.metrics().timeouts, 1);
}

/// A price service with a fallback: what a test of the program wants to exercise.
#[circuit_breaker(name = "kit.price", threshold = 2, reset = "30s")]
fn live_price(item: u32) -> Result<u32, Error> {
    Ok(item * 100)
}

const CACHED_PRICE: u32 = 99;

fn price(item: u32) -> u32 {
    live_price(item).unwrap_or(CACHED_PRICE)
}

#[tokio::test(start_paused = true)]
async fn a_fallback_path_is_tested_without_a_failing_server() {
    let _guard = testing::isolate();
    let b = breaker("kit.price");
    assert_eq!(price(3), 300);

    // By the fn's path: its breaker (here named `kit.price`).
    testing::fail_next(concat!(module_path!(), "::live_price"), 2, || Error::Down);
    assert_eq!(testing::faults_left("kit.price"), 2);
    assert_eq!([price(3), price(3)], [CACHED_PRICE; 2]);
    assert_eq!(b.state(), State::Open);
    assert_eq!(price(3), CACHED_PRICE, "open: rejected, the fallback again");
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.successes, m.failures, m.rejected),
        (3, 1, 2, 1)
    );

    // Once the open period is over, the probe runs the body and closes it.
    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(price(3), 300);
    assert_eq!(b.state(), State::Closed);
}

#[shared_breaker(threshold = 5)]
static PAYMENTS: Breaker;

#[circuit_breaker(shared = PAYMENTS)]
fn pay() -> Result<&'static str, Error> {
    Ok("paid")
}

#[circuit_breaker(shared = PAYMENTS)]
async fn refund() -> Result<&'static str, Error> {
    Ok("refunded")
}

#[tokio::test(start_paused = true)]
async fn a_shared_breakers_faults_go_to_whichever_fn_calls_next() {
    let _guard = testing::isolate();
    testing::fail_next(&PAYMENTS, 2, || Error::Down);

    assert_eq!(pay(), Err(Error::Down));
    assert_eq!(refund().await, Err(Error::Down));
    assert_eq!(pay(), Ok("paid"));
    assert_eq!(refund().await, Ok("refunded"));
    let m = PAYMENTS.metrics();
    assert_eq!((m.admitted, m.failures, m.successes), (4, 2, 2));

    // A fn's path names the breaker it calls through: for a shared one, every fn on it.
    testing::fail_next(concat!(module_path!(), "::refund"), 1, || Error::Down);
    assert_eq!(pay(), Err(Error::Down));
    // `n = 0` disarms.
    testing::fail_next(&PAYMENTS, 3, || Error::Down);
    testing::fail_next(&PAYMENTS, 0, || Error::Down);
    assert_eq!(testing::faults_left(&PAYMENTS), 0);
    assert_eq!(pay(), Ok("paid"));
}

#[circuit_breaker(name = "kit.typed")]
fn typed() -> Result<(), Error> {
    Ok(())
}

#[test]
fn a_factory_of_the_wrong_type_is_a_panic_that_names_both_types() {
    let _guard = testing::isolate();
    testing::fail_next("kit.typed", 1, || 404_u16);
    let panic = std::panic::catch_unwind(typed).expect_err("a wrong factory panics");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert_eq!(
        message,
        "breakerbox::testing: the failure injected into breaker `kit.typed` is a `u16`, but the \
         call through it returns errors of type `testing_kit::Error`; give `fail_next` a factory \
         that makes a `testing_kit::Error`"
    );
    assert_eq!(testing::faults_left("kit.typed"), 0);
}

#[tokio::test(start_paused = true)]
async fn run_and_run_blocking_take_faults_without_calling_the_operation() {
    let _guard = testing::isolate();
    testing::set_jitter(Jitter::Max);
    let api = Arc::new(Breaker::new_named(
        String::from("kit.runtime"),
        Config::builder("kit.runtime")
            .threshold(10)
            .build()
            .unwrap(),
    ));
    let policy = CallPolicy::builder()
        .attempts(3)
        .retry(Granularity::PerCall)
        .backoff(Backoff::Fixed(Duration::from_millis(250)))
        .build()
        .unwrap();

    testing::fail_next(&api, 2, || Error::Down);
    let mut calls = 0;
    let start = Instant::now();
    let result: Result<u32, Error> = policy
        .run(&api, Verdict::transient, || {
            calls += 1;
            async { Ok(5) }
        })
        .await;
    assert_eq!(result, Ok(5));
    assert_eq!(calls, 1, "`op` is not called for an injected attempt");
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    assert_eq!(counts(&api), (1, 0, 1, 2), "per_call: one successful call");

    // Blocking, with waits pinned to zero: the thread does not sleep.
    testing::set_jitter(Jitter::Min);
    testing::fail_next(&*api, 3, || Error::Down);
    let mut calls = 0;
    let result: Result<u32, Error> = policy.run_blocking(&api, Verdict::transient, || {
        calls += 1;
        Ok(5)
    });
    assert_eq!(result, Err(Error::Down));
    assert_eq!(calls, 0);
    assert_eq!(counts(&api), (2, 1, 1, 4));
}

#[circuit_breaker(
    name = "kit.sync_retry",
    threshold = 10,
    attempts = 4,
    retry = "per_attempt",
    backoff = "10s"
)]
fn sync_retry() -> Result<u32, Error> {
    Ok(3)
}

#[test]
fn a_blocking_fn_retries_injected_faults_without_sleeping_under_min_jitter() {
    let _guard = testing::isolate();
    testing::set_jitter(Jitter::Min);
    testing::fail_next("kit.sync_retry", 3, || Error::Down);
    let real = std::time::Instant::now();
    assert_eq!(sync_retry(), Ok(3));
    // Three waits of up to 10 s each, pinned to zero.
    assert!(real.elapsed() < Duration::from_secs(10));
    assert_eq!(counts(breaker("kit.sync_retry")), (4, 3, 1, 3));
}

#[circuit_breaker(name = "kit.isolated", threshold = 1)]
fn isolated(fail: bool) -> Result<(), Error> {
    if fail { Err(Error::Down) } else { Ok(()) }
}

/// Touched by one test only, so what it reads after dropping its guard is its own doing.
#[circuit_breaker(name = "kit.alone", threshold = 1)]
fn alone() -> Result<(), Error> {
    Err(Error::Down)
}

#[test]
fn isolate_starts_and_ends_with_a_clean_slate() {
    let b = breaker("kit.alone");
    let registered = {
        let _guard = testing::isolate();
        assert_eq!(b.metrics(), Metrics::default());
        let _ = alone();
        assert_eq!(b.state(), State::Open);
        testing::fail_next("kit.alone", 5, || Error::Down);
        testing::set_jitter(Jitter::Max);
        let runtime = registry()
            .register(Breaker::new_named(
                String::from("kit.registered"),
                Config::new("kit.registered"),
            ))
            .unwrap();
        runtime.force_open();
        runtime
    };
    // Dropped: everything reset, nothing armed...
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics(), Metrics::default());
    assert_eq!(testing::faults_left("kit.alone"), 0);
    assert_eq!(registered.state(), State::Closed, "registered breakers too");
    // ...and jitter drawn again (read under the guard, which other tests may set).
    let _guard = testing::isolate();
    let max = Duration::from_secs(3600);
    let draws: Vec<Duration> = (0..10).map(|_| breakerbox_jitter(max)).collect();
    assert!(draws.iter().any(|d| *d != max), "random again: {draws:?}");
}

/// One jittered wait of up to `max`, as a retrying call draws it.
fn breakerbox_jitter(max: Duration) -> Duration {
    CallPolicy::builder()
        .attempts(2)
        .retry(Granularity::PerCall)
        .backoff(Backoff::Fixed(max))
        .build()
        .unwrap()
        .wait(1)
}

#[test]
fn a_test_that_panics_holding_the_guard_does_not_wedge_the_next() {
    let b = breaker("kit.isolated");
    let panicked = std::thread::spawn(|| {
        let _guard = testing::isolate();
        let _ = isolated(true);
        testing::fail_next("kit.isolated", 5, || Error::Down);
        panic!("a failing test");
    })
    .join();
    assert!(panicked.is_err());
    // Taken again despite the poisoned lock, and clean: the guard reset on its way out.
    let _guard = testing::isolate();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics(), Metrics::default());
    assert_eq!(testing::faults_left("kit.isolated"), 0);
}

#[test]
fn reset_all_closes_every_breaker_with_empty_counts() {
    let _guard = testing::isolate();
    let _ = isolated(true);
    PAYMENTS.force_open();
    assert_eq!(pay(), Err(Error::Rejected));
    testing::reset_all();
    for b in [breaker("kit.isolated"), &PAYMENTS] {
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.metrics(), Metrics::default());
    }
}

#[test]
#[should_panic(expected = "no breaker is named `kit.nowhere`, and no annotated fn has that path")]
fn an_unknown_name_is_a_panic() {
    let _guard = testing::isolate();
    testing::fail_next("kit.nowhere", 1, || Error::Down);
}
