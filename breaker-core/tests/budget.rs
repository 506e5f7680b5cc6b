//! R11, the retry budget, through the programmatic API on tokio's paused clock: storms of
//! concurrent failing calls with and without a budget, the floor of 10 retries per second, a fn
//! called a few times a minute, and what counts as a first attempt. Every count is exact.
//!
//! The storms spawn their calls on the test's current-thread runtime, which polls tasks in the
//! order they were spawned; each call's attempts fail at once, so call `k`'s first attempt is the
//! `k`-th to fail, and the budget's decision for it comes right after.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breaker_core::{
    Backoff, Breaker, Budget, CallPolicy, Config, Granularity, Rejected, TimedOut, Verdict,
};
use common::*;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Down,
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

/// A breaker that never opens on the storms below, with this budget; leaked so spawned calls can
/// borrow it.
fn breaker(name: &'static str, budget: Budget) -> &'static Breaker {
    let config = Config::builder(name)
        .threshold(u32::MAX)
        .budget(budget)
        .build()
        .expect("valid config");
    Box::leak(Box::new(Breaker::new(config)))
}

/// `attempts` attempts, waiting a fixed 100 ms between them, without jitter.
fn policy(attempts: u32, granularity: Granularity) -> &'static CallPolicy {
    let policy = CallPolicy::builder()
        .attempts(attempts)
        .retry(granularity)
        .backoff(Backoff::Fixed(ms(100)))
        .jitter(false)
        .build()
        .expect("valid policy");
    Box::leak(Box::new(policy))
}

/// One call whose attempts all fail; returns the requests it sent.
async fn failing_call(breaker: &Breaker, policy: &CallPolicy) -> u32 {
    let requests = AtomicU32::new(0);
    let result: Result<(), Error> = policy
        .run(breaker, Verdict::transient, || {
            requests.fetch_add(1, Ordering::Relaxed);
            async { Err(Error::Down) }
        })
        .await;
    assert_eq!(
        result,
        Err(Error::Down),
        "a call ends with its last real error"
    );
    requests.into_inner()
}

/// `calls` failing calls at once; returns the requests each sent, in the order they were made.
async fn storm(breaker: &'static Breaker, policy: &'static CallPolicy, calls: usize) -> Vec<u32> {
    let tasks: Vec<_> = (0..calls)
        .map(|_| tokio::spawn(failing_call(breaker, policy)))
        .collect();
    let mut sent = Vec::with_capacity(calls);
    for task in tasks {
        sent.push(task.await.expect("no call panics"));
    }
    sent
}

/// The bound R11 states for a storm that fits in one window: first attempts, plus
/// `max(percent of them, 10 per second x 10 s)`.
fn bound(first_attempts: u64, percent: u64) -> u64 {
    first_attempts + (first_attempts * percent / 100).max(100)
}

#[tokio::test(start_paused = true)]
async fn without_a_budget_1000_failing_calls_of_3_attempts_send_3000_requests() {
    for granularity in [Granularity::PerCall, Granularity::PerAttempt] {
        let b = breaker("budget.off", Budget::Off);
        let sent = storm(b, policy(3, granularity), 1_000).await;
        assert_eq!(sent.iter().sum::<u32>(), 3_000, "{granularity}");
        let m = b.metrics();
        assert_eq!((m.retries, m.retries_denied), (2_000, 0), "{granularity}");
    }
}

/// The same storm under the default budget (20%, at least 10 retries a second): the floor grants
/// the first 100 calls their retry; after that a retry needs 5 first attempts for each: call 505
/// gets the 101st, call 510 the 102nd, ..., call 1,000 the 200th. The second retries, 100 ms
/// later, find the window spent: 1,200 requests in all, 200 of them retries.
#[tokio::test(start_paused = true)]
async fn the_default_budget_holds_the_same_storm_to_1200_requests() {
    for granularity in [Granularity::PerCall, Granularity::PerAttempt] {
        let b = breaker("budget.default", Budget::DEFAULT);
        let start = Instant::now();
        let sent = storm(b, policy(3, granularity), 1_000).await;
        let elapsed = start.elapsed();
        let requests = u64::from(sent.iter().sum::<u32>());
        assert_eq!(requests, 1_200, "{granularity}");
        // Which calls retried: the first 100, and every fifth from call 505 on (1-based).
        let retried: Vec<usize> = (1..=1_000).filter(|k| sent[k - 1] == 2).collect();
        let expected: Vec<usize> = (1..=100).chain((505..=1_000).step_by(5)).collect();
        assert_eq!(retried, expected, "{granularity}");
        assert!(sent.iter().all(|&n| n <= 2));
        let m = b.metrics();
        // Denied: 800 first retries, then the 200 second ones.
        assert_eq!((m.retries, m.retries_denied), (200, 1_000), "{granularity}");
        // R11's bound, and the looser one of 10 retries a second over the storm's whole time.
        assert_eq!(elapsed, ms(100));
        assert!(requests <= bound(1_000, 20));
        assert!(requests <= 1_000 + 200 + 10 * (elapsed.as_secs() + 1));
    }
}

#[tokio::test(start_paused = true)]
async fn a_fn_called_a_few_times_a_minute_retries_exactly_as_written() {
    let b = breaker("budget.rare", Budget::DEFAULT);
    let p = policy(3, Granularity::PerCall);
    for _ in 0..10 {
        assert_eq!(failing_call(b, p).await, 3);
        tokio::time::sleep(secs(20)).await;
    }
    let m = b.metrics();
    assert_eq!((m.retries, m.retries_denied), (20, 0));
}

/// Below 500 first attempts, 20% is less than the floor: 100 retries per window, whatever the
/// storm. A window is the current second and the nine before: a storm 5 s later finds it spent,
/// one 11 s later finds it empty.
#[tokio::test(start_paused = true)]
async fn the_floor_allows_100_retries_per_10_seconds() {
    let b = breaker("budget.floor", Budget::DEFAULT);
    let p = policy(3, Granularity::PerCall);
    let sent = storm(b, p, 300).await;
    assert_eq!(sent.iter().sum::<u32>(), 300 + 100);
    assert!(u64::from(sent.iter().sum::<u32>()) <= bound(300, 20));

    tokio::time::sleep(secs(5)).await;
    let sent = storm(b, p, 100).await;
    assert_eq!(
        sent.iter().sum::<u32>(),
        100,
        "the window still holds 100 retries"
    );

    tokio::time::sleep(secs(11)).await;
    let sent = storm(b, p, 300).await;
    assert_eq!(sent.iter().sum::<u32>(), 300 + 100);
    assert_eq!(b.metrics().retries, 200);
}

/// A success of any call on the breaker counts as a first attempt (here, a call of a policy that
/// never retries) once the budget has looked at the counts: it is dated to the look before it.
/// Successes made before the budget's first look are not counted: a storm that follows a quiet
/// spell starts from the floor and its own failing first attempts.
#[tokio::test(start_paused = true)]
async fn successes_count_as_first_attempts_from_the_budgets_first_look() {
    let succeed = |b: &'static Breaker| async move {
        for _ in 0..1_000 {
            let r: Result<(), Error> = CallPolicy::SINGLE
                .run(b, Verdict::transient, || async { Ok(()) })
                .await;
            r.unwrap();
        }
    };
    let p = policy(3, Granularity::PerCall);

    // Never looked: 1,000 successes, then 300 failing calls: max(20% of 300, 100) retries.
    let quiet = breaker("budget.quiet", Budget::DEFAULT);
    succeed(quiet).await;
    let sent = storm(quiet, p, 300).await;
    assert_eq!(sent.iter().sum::<u32>(), 300 + 100);

    // Looked: one failing call (its two retries), 1,000 successes, 300 failing calls. The window
    // holds 1 + 1,000 + 300 first attempts: 20% is 260 retries, 258 of them for the storm.
    let busy = breaker("budget.busy", Budget::DEFAULT);
    assert_eq!(failing_call(busy, p).await, 3);
    succeed(busy).await;
    let sent = storm(busy, p, 300).await;
    assert_eq!(sent.iter().sum::<u32>(), 300 + 258);
    let m = busy.metrics();
    assert_eq!((m.retries, m.retries_denied), (260, 42 + 258));
    // All the requests the service received in the window: exactly R11's bound.
    assert_eq!(3 + 1_000 + 300 + 258, bound(1_301, 20));
}

/// A denied retry is not made and not waited for: the call returns its last real error at once.
/// Successes of calls that had retried are not first attempts.
#[tokio::test(start_paused = true)]
async fn a_denied_retry_returns_the_last_error_at_once() {
    let b = breaker("budget.denied", Budget::DEFAULT);
    let p = policy(3, Granularity::PerAttempt);
    let sent = storm(b, p, 100).await;
    assert_eq!(sent.iter().sum::<u32>(), 100 + 100);

    let start = Instant::now();
    assert_eq!(failing_call(b, p).await, 1);
    assert_eq!(start.elapsed(), Duration::ZERO, "no wait");
    let m = b.metrics();
    // per_attempt: 201 attempts admitted (100 x 2 for the storm, 1 for the last call); none for
    // the denied retries.
    assert_eq!((m.admitted, m.retries, m.retries_denied), (201, 100, 101));
}

/// R1 and R11 together: a `per_attempt` retry the budget granted but the breaker then refused is
/// given back, so the window still holds 100.
#[tokio::test(start_paused = true)]
async fn a_retry_the_breaker_refuses_is_given_back_to_the_budget() {
    let b = breaker("budget.refund", Budget::DEFAULT);
    let p = policy(2, Granularity::PerAttempt);
    let requests = AtomicU32::new(0);
    let result: Result<(), Error> = p
        .run(b, Verdict::transient, || {
            requests.fetch_add(1, Ordering::Relaxed);
            b.force_open();
            async { Err(Error::Down) }
        })
        .await;
    assert_eq!(result, Err(Error::Down));
    assert_eq!(requests.into_inner(), 1);
    b.reset();
    let sent = storm(b, p, 150).await;
    assert_eq!(sent.iter().sum::<u32>(), 150 + 100);
}

/// The budget belongs to the breaker: every fn on it draws from one window.
#[tokio::test(start_paused = true)]
async fn fns_sharing_a_breaker_share_its_budget() {
    let b = breaker("budget.shared", Budget::DEFAULT);
    let sent = storm(b, policy(2, Granularity::PerCall), 100).await;
    assert_eq!(sent.iter().sum::<u32>(), 200);
    let sent = storm(b, policy(3, Granularity::PerAttempt), 10).await;
    assert_eq!(
        sent.iter().sum::<u32>(),
        10,
        "the other fn spent the window"
    );
}

/// A call that never retries never touches the budget: its failures are not first attempts of a
/// retrying call, and it asks for no retry.
#[tokio::test(start_paused = true)]
async fn single_attempt_calls_leave_the_budget_alone() {
    let b = breaker("budget.single", Budget::DEFAULT);
    for _ in 0..1_000 {
        assert_eq!(failing_call(b, &CallPolicy::SINGLE).await, 1);
    }
    let sent = storm(b, policy(3, Granularity::PerCall), 300).await;
    assert_eq!(sent.iter().sum::<u32>(), 300 + 100);
    // Denied: 200 first retries, then the 100 second ones.
    assert_eq!(b.metrics().retries_denied, 200 + 100);
}
