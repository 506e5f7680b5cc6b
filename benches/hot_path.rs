//! What a breaker costs on the paths every call takes, next to the physical limit and to the peers,
//! all in one run so the numbers are ratios of one machine at one moment.
//!
//! Every subject guards the same `#[inline(never)]` operation and returns the same `Result`, so the
//! only difference between two rows of a group is the guard. The groups:
//!
//! - `closed_success`: a closed breaker letting a successful call through, the path R9 is about.
//! - `rejection`: an open breaker refusing a call (forced open, open by its policy, half-open with
//!   every probe out).
//! - `two_threads`: `closed_success` on two threads at once against one breaker; a row's time is
//!   the wall time for each thread to make one call, so perfect scaling reads the same as one thread.
//! - `async_call`: the async form of `closed_success`, polled without a runtime (the future is
//!   always ready on its first poll).
//! - `retry_budget`: a call whose first attempt fails and whose retry succeeds, driven by hand
//!   through `Call` (no backoff wait), on a breaker whose budget is off, always grants (100%), or
//!   mostly denies (1%, once its floor is spent): the budget's withdraw path, R11.
//!
//! `closed_success` and `async_call` also measure an annotated fn of 3 attempts whose first attempt
//! succeeds (the success path of a fn that retries: its `Call`, the nesting check and the scope
//! entered around the attempt), and the same call made inside another retrying fn's attempt.
//!
//! The `limit` rows are a hand-written breaker that does the least any consecutive-failure breaker
//! can: one atomic load of its state, and a failure count that is written only when it is not zero
//! already. It keeps no metrics, no generations and no half-open state, so it is a floor, not a peer.
//!
//! To measure another subject (an annotated fn, another policy), add one `bench_function` line to
//! each group it belongs to; a new scenario is a new `fn(&mut Criterion)` listed in
//! `criterion_group!` at the bottom.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use breakerbox::{
    Breaker, Budget, CallPolicy, Config, ConfigBuilder, Granularity, Permit, Rejected, Reset,
    TimedOut, Verdict, Window,
};
// The retry driver the expansion runs calls with (not public API): the budget group measures it.
use breakerbox::__private::{Call, Next};
use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use recloser::Recloser;

// ---- the guarded operation ----

/// The error every subject returns; large enough to hold a [`Rejected`], as a user's error is.
#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
enum Error {
    Down,
    Rejected(Rejected),
    TimedOut(TimedOut),
    LimitOpen,
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

impl From<TimedOut> for Error {
    fn from(t: TimedOut) -> Self {
        Error::TimedOut(t)
    }
}

/// The call every subject guards: it does nothing, but the compiler cannot know that.
#[inline(never)]
fn op() -> Result<u64, Error> {
    Ok(black_box(42))
}

/// The same call, failing: used only to open breakers during setup.
#[inline(never)]
fn failing_op() -> Result<u64, Error> {
    black_box(Err(Error::Down))
}

/// What each measured iteration hands criterion: the value, not the whole `Result`. Black-boxing a
/// 40-byte `Result` makes the compiler copy it through the stack with wide loads of narrow stores,
/// a store-forwarding stall that would dominate a few-nanosecond path and differ between subjects.
#[inline(always)]
fn sink<E>(result: Result<u64, E>) -> u64 {
    result.unwrap_or(0)
}

// ---- the physical limit ----

/// The least a consecutive-failure breaker can do per call.
mod limit {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    use super::Error;

    pub(crate) struct Limit {
        open: AtomicBool,
        failures: AtomicU32,
        threshold: u32,
    }

    impl Limit {
        pub(crate) const fn new(threshold: u32) -> Limit {
            Limit {
                open: AtomicBool::new(false),
                failures: AtomicU32::new(0),
                threshold,
            }
        }

        #[inline]
        fn admit(&self) -> Result<(), Error> {
            if self.open.load(Ordering::Acquire) {
                Err(Error::LimitOpen)
            } else {
                Ok(())
            }
        }

        #[inline]
        fn record<T>(&self, result: &Result<T, Error>) {
            match result {
                // The breaker's consecutive policy does the same: no write when the count is 0.
                Ok(_) => {
                    if self.failures.load(Ordering::Relaxed) != 0 {
                        self.failures.store(0, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= self.threshold {
                        self.open.store(true, Ordering::Release);
                    }
                }
            }
        }

        #[inline]
        pub(crate) fn call<T>(&self, op: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
            self.admit()?;
            let result = op();
            self.record(&result);
            result
        }

        #[inline]
        pub(crate) async fn run<T, Fut>(&self, op: impl FnOnce() -> Fut) -> Result<T, Error>
        where
            Fut: Future<Output = Result<T, Error>>,
        {
            self.admit()?;
            let result = op().await;
            self.record(&result);
            result
        }
    }
}

use limit::Limit;

// ---- subjects ----

const HOUR: Duration = Duration::from_secs(3600);

const fn config(builder: ConfigBuilder) -> Config {
    match builder.build() {
        Ok(config) => config,
        Err(_) => panic!("invalid bench configuration"),
    }
}

/// Threshold 5, reset 30 s: the defaults.
static CONSECUTIVE: Breaker = Breaker::new(Config::new("bench.consecutive"));
static COUNT_WINDOW: Breaker = Breaker::new(config(
    Config::builder("bench.count_window")
        .failure_rate(50)
        .window(Window::Count(100)),
));
static TIME_WINDOW: Breaker = Breaker::new(config(
    Config::builder("bench.time_window")
        .failure_rate(50)
        .window(Window::Time(Duration::from_secs(60))),
));
static SLOW_CALLS: Breaker = Breaker::new(config(
    Config::builder("bench.slow_calls")
        .slow(Duration::from_secs(2))
        .slow_rate(50)
        .window(Window::Count(100)),
));
static FORCED_OPEN: Breaker = Breaker::new(Config::new("bench.forced_open"));
static OPEN: Breaker = Breaker::new(config(
    Config::builder("bench.open")
        .threshold(1)
        .reset(Reset::Fixed(HOUR)),
));
static HALF_OPEN: Breaker = Breaker::new(config(
    Config::builder("bench.half_open")
        .threshold(1)
        .reset(Reset::Fixed(HOUR)),
));

// The same operation behind the attribute, one breaker per fn (what users write).
#[breakerbox::circuit_breaker(name = "bench.annotated.consecutive")]
fn annotated_consecutive() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(
    name = "bench.annotated.count_window",
    failure_rate = 50,
    window = 100
)]
fn annotated_count_window() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(
    name = "bench.annotated.time_window",
    failure_rate = 50,
    window = "60s"
)]
fn annotated_time_window() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(name = "bench.annotated.async")]
async fn annotated_async() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(name = "bench.annotated.open", threshold = 1, reset = "1h")]
fn annotated_open(fail: bool) -> Result<u64, Error> {
    if fail { failing_op() } else { op() }
}

/// A fn that may retry, on its success path: its first attempt succeeds.
#[breakerbox::circuit_breaker(name = "bench.annotated.retrying", attempts = 3, retry = "per_call")]
fn annotated_retrying() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(
    name = "bench.annotated.retrying_async",
    attempts = 3,
    retry = "per_call"
)]
async fn annotated_retrying_async() -> Result<u64, Error> {
    op()
}

/// `annotated_retrying`, called inside the attempt of another retrying fn (R12): the inner call
/// reads the scope, finds its edge in the thread's cache, and makes one attempt.
#[breakerbox::circuit_breaker(name = "bench.annotated.nesting", attempts = 3, retry = "per_call")]
fn annotated_nesting() -> Result<u64, Error> {
    annotated_retrying()
}

static LIMIT: Limit = Limit::new(5);
static LIMIT_OPEN: Limit = Limit::new(1);

/// The hand-written use of the programmatic API: admission, the call, its outcome.
#[inline(always)]
fn guarded(breaker: &Breaker, op: fn() -> Result<u64, Error>) -> Result<u64, Error> {
    let permit = breaker.try_acquire()?;
    let result = op();
    match &result {
        Ok(_) => permit.success(),
        Err(_) => permit.failure(),
    }
    result
}

fn recloser_consecutive() -> Recloser {
    // The closest recloser comes to "5 failures in a row": every one of the last 5 calls failed
    // (judged once its ring of 5 is full, so it opens on the 6th failure from a fresh start).
    Recloser::custom()
        .error_rate(1.0)
        .closed_len(5)
        .open_wait(HOUR)
        .build()
}

fn failsafe_consecutive() -> impl failsafe::CircuitBreaker {
    let policy =
        failsafe::failure_policy::consecutive_failures(5, failsafe::backoff::constant(HOUR));
    failsafe::Config::new().failure_policy(policy).build()
}

/// Polls a future that is ready on its first poll, with no runtime.
#[inline(always)]
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

// ---- groups ----

fn closed_success(c: &mut Criterion) {
    let recloser_default = Recloser::default();
    let recloser_consecutive = recloser_consecutive();
    let failsafe_default = failsafe::Config::new().build();
    let failsafe_consecutive = failsafe_consecutive();

    let mut g = c.benchmark_group("closed_success");
    g.bench_function("bare", |b| b.iter(|| sink(op())));
    g.bench_function("limit", |b| b.iter(|| sink(LIMIT.call(op))));
    g.bench_function("breaker/consecutive", |b| {
        b.iter(|| sink(guarded(&CONSECUTIVE, op)))
    });
    g.bench_function("breaker/count_window", |b| {
        b.iter(|| sink(guarded(&COUNT_WINDOW, op)))
    });
    g.bench_function("breaker/time_window", |b| {
        b.iter(|| sink(guarded(&TIME_WINDOW, op)))
    });
    // A slow-call rate over a count window: the permit carries its admission time, so this path
    // reads the clock twice (admission, outcome).
    g.bench_function("breaker/slow_calls", |b| {
        b.iter(|| sink(guarded(&SLOW_CALLS, op)))
    });
    // Built at run time (owned name, in an `Arc`), through a `'static` owned permit.
    let runtime_built = std::sync::Arc::new(Breaker::new_named(
        String::from("bench.runtime_built"),
        Config::new("x"),
    ));
    g.bench_function("breaker/runtime_built_owned", |b| {
        b.iter(|| {
            let permit = runtime_built.acquire_owned()?;
            let result = op();
            permit.success();
            result
        })
    });
    g.bench_function("annotated/consecutive", |b| {
        b.iter(|| sink(annotated_consecutive()))
    });
    g.bench_function("annotated/count_window", |b| {
        b.iter(|| sink(annotated_count_window()))
    });
    g.bench_function("annotated/time_window", |b| {
        b.iter(|| sink(annotated_time_window()))
    });
    g.bench_function("annotated/retrying", |b| {
        b.iter(|| sink(annotated_retrying()))
    });
    g.bench_function("annotated/retrying_nested", |b| {
        b.iter(|| sink(annotated_nesting()))
    });
    g.bench_function("breaker/run_blocking", |b| {
        b.iter(|| sink(CallPolicy::SINGLE.run_blocking(&CONSECUTIVE, Verdict::transient, op)));
    });
    g.bench_function("recloser/default", |b| {
        b.iter(|| sink(recloser_default.call(op)))
    });
    g.bench_function("recloser/consecutive", |b| {
        b.iter(|| sink(recloser_consecutive.call(op)))
    });
    g.bench_function("failsafe/default", |b| {
        b.iter(|| sink(failsafe_default.call(op)))
    });
    g.bench_function("failsafe/consecutive", |b| {
        b.iter(|| sink(failsafe_consecutive.call(op)))
    });
    let failsafe_time_window = failsafe_time_window();
    g.bench_function("failsafe/time_window", |b| {
        b.iter(|| sink(failsafe_time_window.call(op)))
    });
    g.finish();
}

/// failsafe's rate policy over a time window, the nearest to a 50 % failure rate over 60 s.
fn failsafe_time_window() -> impl failsafe::CircuitBreaker {
    let policy = failsafe::failure_policy::success_rate_over_time_window(
        0.5,
        10,
        Duration::from_secs(60),
        failsafe::backoff::constant(HOUR),
    );
    failsafe::Config::new().failure_policy(policy).build()
}

fn rejection(c: &mut Criterion) {
    // Setup may take its time; the measured loops below only ever see the open breakers.
    let _ = LIMIT_OPEN.call(failing_op);
    assert!(LIMIT_OPEN.call(op).is_err());

    FORCED_OPEN.force_open();
    assert!(FORCED_OPEN.try_acquire().is_err());

    let _ = guarded(&OPEN, failing_op);
    assert!(OPEN.try_acquire().is_err(), "open for an hour");

    let _probe = half_open_with_its_probe_out();
    assert!(HALF_OPEN.try_acquire().is_err(), "the single probe is out");

    let recloser = recloser_consecutive();
    // recloser judges its ring only once it is full: the 6th failure opens it.
    for _ in 0..6 {
        let _ = recloser.call(failing_op);
    }
    assert!(matches!(recloser.call(op), Err(recloser::Error::Rejected)));

    let failsafe = failsafe_consecutive();
    for _ in 0..5 {
        let _ = failsafe.call(failing_op);
    }
    assert!(matches!(failsafe.call(op), Err(failsafe::Error::Rejected)));

    let _ = annotated_open(true);
    assert!(annotated_open(false).is_err(), "open for an hour");

    let mut g = c.benchmark_group("rejection");
    g.bench_function("limit", |b| b.iter(|| sink(LIMIT_OPEN.call(op))));
    g.bench_function("annotated/open", |b| b.iter(|| sink(annotated_open(false))));
    g.bench_function("breaker/forced_open", |b| {
        b.iter(|| sink(guarded(&FORCED_OPEN, op)))
    });
    g.bench_function("breaker/open", |b| b.iter(|| sink(guarded(&OPEN, op))));
    g.bench_function("breaker/half_open", |b| {
        b.iter(|| sink(guarded(&HALF_OPEN, op)))
    });
    g.bench_function("recloser/default", |b| {
        // Open for 30 s only: opened afresh for each batch of samples, outside the timed loop.
        let recloser = Recloser::default();
        for _ in 0..101 {
            let _ = recloser.call(failing_op);
        }
        assert!(matches!(recloser.call(op), Err(recloser::Error::Rejected)));
        b.iter(|| sink(recloser.call(op)));
    });
    g.bench_function("recloser/consecutive", |b| {
        b.iter(|| sink(recloser.call(op)))
    });
    g.bench_function("failsafe/default", |b| {
        // Open for 5 s at least (jittered backoff from 10 s): opened afresh for each batch.
        let failsafe = failsafe::Config::new().build();
        for _ in 0..5 {
            let _ = failsafe.call(failing_op);
        }
        assert!(matches!(failsafe.call(op), Err(failsafe::Error::Rejected)));
        b.iter(|| sink(failsafe.call(op)));
    });
    g.bench_function("failsafe/consecutive", |b| {
        b.iter(|| sink(failsafe.call(op)))
    });
    // Not subjects: what one clock reading costs, which `breaker/open` and `breaker/half_open` (and
    // the peers' open paths) pay on every rejection. The breaker reads `tokio::time::Instant`, which
    // in this build (tokio's `test-util` is on for the tests) first looks for a paused clock.
    g.bench_function("clock/std_instant", |b| b.iter(Instant::now));
    g.bench_function("clock/tokio_instant", |b| b.iter(tokio::time::Instant::now));
    g.finish();
}

/// Opens `HALF_OPEN`, lets its hour-long open period pass on tokio's paused clock, and takes the
/// round's single probe. Back on the real clock the round is an hour from expiring, so every later
/// `try_acquire` is refused until the returned permit is dropped.
fn half_open_with_its_probe_out() -> Permit<'static> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let _ = guarded(&HALF_OPEN, failing_op);
        tokio::time::advance(HOUR + Duration::from_millis(1)).await;
        let probe = HALF_OPEN.try_acquire().expect("the open period is over");
        assert!(probe.is_probe());
        probe
    })
}

fn two_threads(c: &mut Criterion) {
    let recloser = recloser_consecutive();
    let recloser = &recloser;

    let mut g = c.benchmark_group("two_threads");
    for threads in [1, 2] {
        let id = |subject: &str| {
            format!(
                "{subject}/{threads}_thread{}",
                if threads > 1 { "s" } else { "" }
            )
        };
        g.bench_function(id("limit"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || sink(LIMIT.call(op))));
        });
        g.bench_function(id("breaker/consecutive"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || sink(guarded(&CONSECUTIVE, op))));
        });
        g.bench_function(id("annotated/consecutive"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || sink(annotated_consecutive())));
        });
        g.bench_function(id("breaker/count_window"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || sink(guarded(&COUNT_WINDOW, op))));
        });
        g.bench_function(id("breaker/time_window"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || sink(guarded(&TIME_WINDOW, op))));
        });
        g.bench_function(id("recloser/consecutive"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || sink(recloser.call(op))));
        });
    }
    g.finish();
}

/// Runs `call` `iters` times on each of `threads` threads started together, and returns the wall
/// time from the first thread's start to the last one's end.
fn on_threads<R>(threads: usize, iters: u64, call: impl Fn() -> R + Sync) -> Duration {
    let start_line = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    // The first guarded call on a thread may lease a counter slot: keep it out of
                    // the measured span.
                    black_box(call());
                    start_line.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(call());
                    }
                    (start, Instant::now())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("bench thread"))
            .collect()
    });
    let first = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("one thread at least");
    let last = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("one thread at least");
    last - first
}

fn async_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_call");
    g.bench_function("bare", |b| b.iter(|| sink(ready(async { op() }))));
    g.bench_function("limit", |b| {
        b.iter(|| sink(ready(LIMIT.run(|| async { op() }))))
    });
    g.bench_function("annotated/async", |b| {
        b.iter(|| sink(ready(annotated_async())))
    });
    g.bench_function("annotated/retrying_async", |b| {
        b.iter(|| sink(ready(annotated_retrying_async())))
    });
    g.bench_function("breaker/run", |b| {
        b.iter(|| {
            ready(CallPolicy::SINGLE.run(&CONSECUTIVE, Verdict::transient, || async { op() }))
        });
    });
    g.finish();
}

/// Breakers that never open on the failures below, with three budgets.
static BUDGET_OFF: Breaker = Breaker::new(config(
    Config::builder("bench.budget.off")
        .threshold(u32::MAX)
        .budget(Budget::Off),
));
static BUDGET_GRANTS: Breaker = Breaker::new(config(
    Config::builder("bench.budget.grants")
        .threshold(u32::MAX)
        .budget(Budget::Percent(100)),
));
static BUDGET_DENIES: Breaker = Breaker::new(config(
    Config::builder("bench.budget.denies")
        .threshold(u32::MAX)
        .budget(Budget::Percent(1)),
));

const TWO_ATTEMPTS: CallPolicy = match CallPolicy::builder()
    .attempts(2)
    .retry(Granularity::PerCall)
    .build()
{
    Ok(policy) => policy,
    Err(_) => panic!("invalid bench policy"),
};

/// One call: the first attempt fails, the retry (when the budget grants it) succeeds. The wait
/// the driver asks for is skipped.
#[inline(always)]
fn failed_then_retried(breaker: &Breaker) -> u64 {
    let mut call = Call::new(breaker, &TWO_ATTEMPTS);
    if call.admit::<Error>().is_err() {
        return 0;
    }
    match call.settle(failing_op(), Verdict::transient) {
        Next::Return(result) => sink(result),
        Next::Retry(_) => {
            if call.admit::<Error>().is_err() {
                return 0;
            }
            match call.settle(op(), Verdict::transient) {
                Next::Return(result) => sink(result),
                Next::Retry(_) => 0,
            }
        }
    }
}

fn retry_budget(c: &mut Criterion) {
    let mut g = c.benchmark_group("retry_budget");
    g.bench_function("off", |b| b.iter(|| failed_then_retried(&BUDGET_OFF)));
    g.bench_function("withdraw/granted", |b| {
        b.iter(|| failed_then_retried(&BUDGET_GRANTS))
    });
    g.bench_function("withdraw/denied", |b| {
        b.iter(|| failed_then_retried(&BUDGET_DENIES))
    });
    g.finish();
}

criterion_group!(
    benches,
    closed_success,
    rejection,
    two_threads,
    async_call,
    retry_budget
);
criterion_main!(benches);
