//! R12, nesting, through the programmatic API ([`CallSite::run`], [`CallPolicy::run`] and their
//! blocking forms): an inner call inside a retrying call's attempt makes one attempt unless its
//! policy says `Nested::Retry`; the nesting is recorded once as a registry edge; a spawned task or
//! thread starts outside any scope unless the scope is carried into it.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use breaker_core::{
    Backoff, Breaker, CallPolicy, CallSite, Config, Granularity, Nested, NestingEdge, NestingScope,
    Rejected, TimedOut, Verdict, in_scope, registry,
};
use common::*;

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

const fn three(nested: Nested) -> CallPolicy {
    match CallPolicy::builder()
        .attempts(3)
        .retry(Granularity::PerCall)
        .backoff(Backoff::Fixed(std::time::Duration::from_millis(10)))
        .jitter(false)
        .nested(nested)
        .build()
    {
        Ok(policy) => policy,
        Err(_) => panic!("invalid policy"),
    }
}

const fn never_opens(name: &'static str) -> Config {
    match Config::builder(name).threshold(u32::MAX).build() {
        Ok(config) => config,
        Err(_) => panic!("invalid config"),
    }
}

/// The edge from `outer` to `inner`, if recorded.
fn edge(outer: &CallSite, inner: &CallSite) -> Option<&'static NestingEdge> {
    registry()
        .edges()
        .find(|e| std::ptr::eq(e.outer(), outer) && std::ptr::eq(e.inner(), inner))
}

/// The requests that reached an inner fn's service, in one test (the tests run in parallel).
#[derive(Default)]
struct Counter(AtomicU32);

impl Counter {
    async fn request(&self) -> Result<u32, Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(Error::Down)
    }

    fn take(&self) -> u32 {
        self.0.swap(0, Ordering::SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn an_inner_call_makes_one_attempt_unless_it_says_nested_retry() {
    static OUTER_B: Breaker = Breaker::new(never_opens("nest.outer"));
    static INNER_B: Breaker = Breaker::new(never_opens("nest.inner"));
    static OUTER: CallSite = CallSite::new(
        "nest::outer",
        file!(),
        line!(),
        three(Nested::Single),
        &OUTER_B,
    );
    static SINGLE: CallSite = CallSite::new(
        "nest::single",
        file!(),
        line!(),
        three(Nested::Single),
        &INNER_B,
    );
    static RETRY: CallSite = CallSite::new(
        "nest::retry",
        file!(),
        line!(),
        three(Nested::Retry),
        &INNER_B,
    );
    let counter = Counter::default();

    // Outside any scope, both retry as written.
    for inner in [&SINGLE, &RETRY] {
        assert!(NestingScope::current().is_none());
        let r: Result<u32, Error> = inner.run(Verdict::transient, || counter.request()).await;
        assert_eq!(r, Err(Error::Down));
        assert_eq!(counter.take(), 3, "{}", inner.function());
    }
    assert_eq!(INNER_B.metrics().nested_single, 0);

    // Inside: 3 requests per outer call by default, 9 with `Nested::Retry`.
    for (inner, per_outer_call) in [(&SINGLE, 3), (&RETRY, 9)] {
        for _ in 0..2 {
            let r: Result<u32, Error> = OUTER
                .run(Verdict::transient, || {
                    inner.run(Verdict::transient, || counter.request())
                })
                .await;
            assert_eq!(r, Err(Error::Down));
            assert_eq!(counter.take(), per_outer_call, "{}", inner.function());
        }
        let e = edge(&OUTER, inner).expect("recorded");
        assert_eq!(e.worst_case(), per_outer_call);
        assert_eq!(
            e.to_string(),
            format!(
                "nest::outer -> {}: up to {per_outer_call} requests per outer call",
                inner.function()
            )
        );
    }
    // Recorded once each, however many times seen.
    assert_eq!(
        registry()
            .edges()
            .filter(|e| std::ptr::eq(e.outer(), &OUTER))
            .count(),
        2
    );
    // 2 outer calls x 3 attempts, each cutting a call that would have retried to one attempt.
    assert_eq!(edge(&OUTER, &SINGLE).unwrap().suppressed(), 6);
    assert_eq!(edge(&OUTER, &RETRY).unwrap().suppressed(), 0);
    assert_eq!(INNER_B.metrics().nested_single, 6);
    assert_eq!(OUTER_B.metrics().nested_single, 0);
    // The table lists them.
    let table = registry().to_string();
    assert!(
        table.contains("nest::outer -> nest::retry") && table.contains("NESTED CALLS"),
        "{table}"
    );
}

#[test]
fn blocking_calls_nest_the_same_way() {
    static OUTER_B: Breaker = Breaker::new(never_opens("nest.blocking.outer"));
    static INNER_B: Breaker = Breaker::new(never_opens("nest.blocking.inner"));
    const FAST: CallPolicy = match CallPolicy::builder()
        .attempts(3)
        .retry(Granularity::PerAttempt)
        .backoff(Backoff::Fixed(std::time::Duration::ZERO))
        .build()
    {
        Ok(p) => p,
        Err(_) => panic!(),
    };
    static OUTER: CallSite =
        CallSite::new("nest::blocking_outer", file!(), line!(), FAST, &OUTER_B);
    static INNER: CallSite =
        CallSite::new("nest::blocking_inner", file!(), line!(), FAST, &INNER_B);
    let requests = AtomicU32::new(0);
    let inner = || {
        INNER.run_blocking(Verdict::transient, || {
            requests.fetch_add(1, Ordering::Relaxed);
            Err::<(), _>(Error::Down)
        })
    };
    assert_eq!(inner(), Err(Error::Down));
    assert_eq!(requests.swap(0, Ordering::Relaxed), 3);
    assert_eq!(
        OUTER.run_blocking(Verdict::transient, inner),
        Err(Error::Down)
    );
    assert_eq!(requests.swap(0, Ordering::Relaxed), 3);
    assert_eq!(edge(&OUTER, &INNER).unwrap().worst_case(), 3);

    // A thread started inside the attempt starts outside the scope, unless it enters it.
    let spawned = |carry: bool| {
        OUTER.run_blocking(Verdict::transient, || {
            let scope = NestingScope::current().filter(|_| carry);
            std::thread::scope(|s| {
                s.spawn(|| {
                    let _nested = scope.map(NestingScope::enter);
                    inner()
                })
                .join()
                .unwrap()
            })
        })
    };
    assert_eq!(spawned(false), Err(Error::Down));
    assert_eq!(requests.swap(0, Ordering::Relaxed), 9);
    assert_eq!(spawned(true), Err(Error::Down));
    assert_eq!(requests.swap(0, Ordering::Relaxed), 3);
}

/// A call through `CallPolicy::run` has no call site: it nests and is nested as an annotated call
/// would, but no edge names it.
#[tokio::test(start_paused = true)]
async fn calls_without_a_site_nest_without_an_edge() {
    static OUTER_B: Breaker = Breaker::new(never_opens("nest.siteless.outer"));
    static INNER_B: Breaker = Breaker::new(never_opens("nest.siteless.inner"));
    static INNER: CallSite = CallSite::new(
        "nest::siteless_inner",
        file!(),
        line!(),
        three(Nested::Single),
        &INNER_B,
    );
    const OUTER: CallPolicy = three(Nested::Single);
    let counter = Counter::default();
    let r: Result<u32, Error> = OUTER
        .run(&OUTER_B, Verdict::transient, || {
            INNER.run(Verdict::transient, || counter.request())
        })
        .await;
    assert_eq!(r, Err(Error::Down));
    assert_eq!(counter.take(), 3);
    assert!(registry().edges().all(|e| !std::ptr::eq(e.inner(), &INNER)));
    assert_eq!(INNER_B.metrics().nested_single, 3);
}

/// The scope is entered on each poll of the attempt, and left when the poll returns: another task
/// polled on the same thread while the attempt waits is outside it. A task spawned from the
/// attempt starts outside it too, unless its future is passed through `in_scope`.
#[tokio::test(start_paused = true)]
async fn the_scope_follows_the_task_that_runs_the_attempt() {
    static OUTER_B: Breaker = Breaker::new(never_opens("nest.task.outer"));
    static INNER_B: Breaker = Breaker::new(never_opens("nest.task.inner"));
    static OUTER: CallSite = CallSite::new(
        "nest::task_outer",
        file!(),
        line!(),
        three(Nested::Single),
        &OUTER_B,
    );
    static INNER: CallSite = CallSite::new(
        "nest::task_inner",
        file!(),
        line!(),
        three(Nested::Single),
        &INNER_B,
    );
    // A spawned task must own what it uses: a static counter.
    static REQUESTS: Counter = Counter(AtomicU32::new(0));
    let sent = || REQUESTS.take();
    let inner = || INNER.run(Verdict::transient, || REQUESTS.request());

    // Another task, polled while the outer attempt sleeps, retries as written.
    let outer = OUTER.run(Verdict::transient, || async {
        tokio::time::sleep(secs(1)).await;
        Err::<u32, _>(Error::Down)
    });
    let (outer, other) = tokio::join!(outer, tokio::spawn(inner()));
    assert_eq!(outer, Err(Error::Down));
    assert_eq!(other.unwrap(), Err(Error::Down));
    assert_eq!(sent(), 3);

    // Spawned from the attempt: as written (3 x 3), or nested when carried (3 x 1).
    for (carry, expected) in [(false, 9), (true, 3)] {
        let r: Result<u32, Error> = OUTER
            .run(Verdict::transient, || async move {
                let task = if carry {
                    tokio::spawn(in_scope(inner()))
                } else {
                    tokio::spawn(inner())
                };
                task.await.unwrap()
            })
            .await;
        assert_eq!(r, Err(Error::Down));
        assert_eq!(sent(), expected, "carried: {carry}");
    }
    assert!(NestingScope::current().is_none());
}

/// A call cut to one attempt opens no scope of its own: a call inside it is still inside the
/// outermost retrying call's attempt, and the edge says so. Here the outer fn makes 3 attempts,
/// the middle one 1 (nested), and the inner one 3 (`Nested::Retry`): 9 inner requests per outer
/// call, recorded as outer -> inner.
#[tokio::test(start_paused = true)]
async fn a_call_cut_to_one_attempt_opens_no_scope() {
    static B: Breaker = Breaker::new(never_opens("nest.chain"));
    static OUTER: CallSite = CallSite::new(
        "nest::chain_outer",
        file!(),
        line!(),
        three(Nested::Single),
        &B,
    );
    static MIDDLE: CallSite = CallSite::new(
        "nest::chain_middle",
        file!(),
        line!(),
        three(Nested::Single),
        &B,
    );
    static INNER: CallSite = CallSite::new(
        "nest::chain_inner",
        file!(),
        line!(),
        three(Nested::Retry),
        &B,
    );
    let counter = Counter::default();
    let r: Result<u32, Error> = OUTER
        .run(Verdict::transient, || {
            MIDDLE.run(Verdict::transient, || {
                INNER.run(Verdict::transient, || counter.request())
            })
        })
        .await;
    assert_eq!(r, Err(Error::Down));
    assert_eq!(counter.take(), 9);
    assert_eq!(edge(&OUTER, &MIDDLE).unwrap().worst_case(), 3);
    assert_eq!(edge(&OUTER, &INNER).unwrap().worst_case(), 9);
    assert!(edge(&MIDDLE, &INNER).is_none());
}
