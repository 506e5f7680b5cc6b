//! No call path allocates (R9), and opening and closing a breaker retains no memory.
//!
//! A counting global allocator is this test binary's own. It counts only on a thread that asked it
//! to, so the test harness (and any test running beside these) cannot disturb a count: every
//! breaker operation and every tokio timer below runs on the measuring thread itself.
//!
//! Each check warms its path up first: the first call on a thread leases a counter slot, a count
//! window allocates its ring on its first outcome, the first transition initialises the event bus
//! and `tracing`'s callsites, the first jittered wait seeds the thread's generator, tokio's timer
//! sets itself up on first use, and a nesting of two fns is recorded once, the first time it is
//! seen. After that, the count over many calls must be exactly zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use breakerbox::{
    Backoff, Breaker, Budget, CallPolicy, Config, ConfigBuilder, Granularity, Rejected, Reset,
    State, TimedOut, Verdict, Window,
};

// ---- the counting allocator ----

struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted, and the counts.
    static TRACKED: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn on_alloc(bytes: usize) {
    // `try_with`: the allocator may run while a thread's locals are being torn down.
    if TRACKED.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
        let _ = LIVE_BYTES.try_with(|b| b.set(b.get() + bytes as i64));
    }
}

fn on_dealloc(bytes: usize) {
    if TRACKED.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE_BYTES.try_with(|b| b.set(b.get() - bytes as i64));
    }
}

// SAFETY: every method forwards to `System` unchanged; the counting touches only `const`-initialised
// thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_dealloc(layout.size());
        on_alloc(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What this thread allocated while running `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Usage {
    /// Allocations made (a `realloc` counts as one).
    allocs: u64,
    /// Bytes still allocated at the end, net of what was freed.
    retained: i64,
}

/// Counts this thread's allocations from `start` to `stop`; usable across an `.await`.
struct Meter {
    allocs: u64,
    bytes: i64,
}

impl Meter {
    fn start() -> Meter {
        let meter = Meter {
            allocs: ALLOCS.get(),
            bytes: LIVE_BYTES.get(),
        };
        TRACKED.set(true);
        meter
    }

    fn stop(self) -> Usage {
        TRACKED.set(false);
        Usage {
            allocs: ALLOCS.get() - self.allocs,
            retained: LIVE_BYTES.get() - self.bytes,
        }
    }
}

fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let meter = Meter::start();
    let result = f();
    (result, meter.stop())
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.allocs += other.allocs;
        self.retained += other.retained;
    }
}

const NONE: Usage = Usage {
    allocs: 0,
    retained: 0,
};

#[test]
fn the_meter_counts_this_threads_allocations_only() {
    let (kept, usage) = measure(|| {
        drop(vec![0u8; 100]);
        let mut kept = Vec::<u8>::with_capacity(10);
        kept.extend_from_slice(&[1; 20]); // a realloc
        kept
    });
    assert_eq!(
        usage,
        Usage {
            allocs: 3,
            retained: kept.capacity() as i64
        }
    );
    // Another thread allocating meanwhile is not counted.
    let step = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            step.wait();
            drop(std::hint::black_box(vec![0u8; 100]));
            step.wait();
        });
        let ((), usage) = measure(|| {
            step.wait();
            step.wait();
        });
        assert_eq!(usage, NONE);
    });
}

// ---- the calls ----

const CALLS: u32 = 10_000;
const HOUR: Duration = Duration::from_secs(3600);

#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
enum Error {
    Down,
    Rejected(Rejected),
    TimedOut(TimedOut),
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

const fn config(builder: ConfigBuilder) -> Config {
    match builder.build() {
        Ok(config) => config,
        Err(_) => panic!("invalid test configuration"),
    }
}

/// One guarded call through the programmatic API, succeeding or failing as told.
fn call(breaker: &Breaker, ok: bool) -> Result<u32, Error> {
    let permit = breaker.try_acquire()?;
    let result = if std::hint::black_box(ok) {
        Ok(7)
    } else {
        Err(Error::Down)
    };
    match &result {
        Ok(_) => permit.success(),
        Err(_) => permit.failure(),
    }
    result
}

/// Runs `calls` `n` times after `warm` warm-up runs, and returns what the measured runs allocated.
fn per_call(warm: u32, n: u32, mut calls: impl FnMut()) -> Usage {
    for _ in 0..warm {
        calls();
    }
    measure(|| (0..n).for_each(|_| calls())).1
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

#[test]
fn closed_success_allocates_nothing() {
    static CONSECUTIVE: Breaker = Breaker::new(Config::new("alloc.success.consecutive"));
    static COUNT: Breaker = Breaker::new(config(
        Config::builder("alloc.success.count")
            .failure_rate(50)
            .window(Window::Count(100)),
    ));
    static TIME: Breaker = Breaker::new(config(
        Config::builder("alloc.success.time")
            .failure_rate(50)
            .window(Window::Time(HOUR)),
    ));
    for breaker in [&CONSECUTIVE, &COUNT, &TIME] {
        let usage = per_call(100, CALLS, || {
            call(breaker, true).expect("closed");
        });
        assert_eq!(usage, NONE, "{}", breaker.name());
        assert_eq!(breaker.state(), State::Closed);
        assert_eq!(breaker.metrics().successes, u64::from(100 + CALLS));
    }

    // Through the retry driver with one attempt, blocking and async.
    let usage = per_call(100, CALLS, || {
        let r: Result<u32, Error> =
            CallPolicy::SINGLE.run_blocking(&CONSECUTIVE, Verdict::transient, || Ok(7));
        r.expect("closed");
    });
    assert_eq!(usage, NONE, "run_blocking");
    let runtime = paused_runtime();
    let usage = runtime.block_on(async {
        for _ in 0..100 {
            let r: Result<u32, Error> = CallPolicy::SINGLE
                .run(&CONSECUTIVE, Verdict::transient, || async { Ok(7) })
                .await;
            r.expect("closed");
        }
        let meter = Meter::start();
        for _ in 0..CALLS {
            let r: Result<u32, Error> = CallPolicy::SINGLE
                .run(&CONSECUTIVE, Verdict::transient, || async { Ok(7) })
                .await;
            r.expect("closed");
        }
        meter.stop()
    });
    assert_eq!(usage, NONE, "run");
}

#[test]
fn closed_failure_allocates_nothing() {
    // Thresholds the failures below never reach, so every call is a closed failure.
    static CONSECUTIVE: Breaker = Breaker::new(config(
        Config::builder("alloc.failure.consecutive").threshold(u32::MAX),
    ));
    static COUNT: Breaker = Breaker::new(config(
        Config::builder("alloc.failure.count")
            .failure_rate(100)
            .window(Window::Count(100))
            .min_calls(100),
    ));
    static TIME: Breaker = Breaker::new(config(
        Config::builder("alloc.failure.time")
            .failure_rate(100)
            .window(Window::Time(HOUR))
            .min_calls(u32::MAX),
    ));
    for breaker in [&CONSECUTIVE, &COUNT, &TIME] {
        // Failure, success, failure, ...: the consecutive count is raised and cleared each time,
        // and a count window of 100 at a 100% rate never opens on a half-failed stream.
        let mut ok = false;
        let usage = per_call(100, CALLS, || {
            ok = !ok;
            assert_eq!(call(breaker, ok).is_ok(), ok);
        });
        assert_eq!(usage, NONE, "{}", breaker.name());
        assert_eq!(breaker.state(), State::Closed, "{}", breaker.name());
        assert_eq!(breaker.metrics().failures, u64::from(100 + CALLS) / 2);
    }
}

#[test]
fn rejection_allocates_nothing() {
    static FORCED: Breaker = Breaker::new(Config::new("alloc.rejected.forced"));
    static OPEN: Breaker = Breaker::new(config(
        Config::builder("alloc.rejected.open")
            .threshold(1)
            .reset(Reset::Fixed(HOUR)),
    ));

    FORCED.force_open();
    let usage = per_call(100, CALLS, || {
        call(&FORCED, true).expect_err("forced open");
    });
    assert_eq!(usage, NONE, "forced open");

    call(&OPEN, false).expect_err("the failure that opens it");
    assert_eq!(OPEN.state(), State::Open);
    let usage = per_call(100, CALLS, || {
        call(&OPEN, true).expect_err("open for an hour");
    });
    assert_eq!(usage, NONE, "open");
    assert_eq!(OPEN.metrics().rejected, u64::from(100 + CALLS));

    // Through the retry driver, which turns the rejection into the caller's error.
    let usage = per_call(100, CALLS, || {
        let r: Result<u32, Error> =
            CallPolicy::SINGLE.run_blocking(&OPEN, Verdict::transient, || Ok(7));
        assert!(matches!(r, Err(Error::Rejected(_))));
    });
    assert_eq!(usage, NONE, "run_blocking rejected");
}

#[test]
fn half_open_admission_and_outcome_allocate_nothing() {
    static PROBED: Breaker = Breaker::new(config(
        Config::builder("alloc.half_open")
            .threshold(1)
            .reset(Reset::Backoff {
                min: Duration::from_secs(1),
                max: Duration::from_secs(8),
            }),
    ));
    let runtime = paused_runtime();
    runtime.block_on(async {
        // One cycle: a failure opens it; the open period passes; one probe is admitted and a second
        // caller refused; every other cycle the probe fails (open again, for longer) before one
        // succeeds (closed). The first 100 cycles warm up. Only the breaker's own work is measured:
        // `advance` is the test driving the clock.
        let mut total = NONE;
        for round in 0..1_100u32 {
            let (_, usage) = measure(|| call(&PROBED, false).expect_err("opens it"));
            if round >= 100 {
                total += usage;
            }
            let mut probe_fails = round % 2 == 0;
            loop {
                let period = PROBED.remaining_open().expect("open");
                tokio::time::advance(period).await;
                let (decided, usage) = measure(|| {
                    let probe = PROBED.try_acquire().expect("the probe");
                    assert!(probe.is_probe());
                    assert!(PROBED.try_acquire().is_err(), "one probe per round");
                    if probe_fails {
                        probe.failure();
                        false
                    } else {
                        probe.success();
                        true
                    }
                });
                if round >= 100 {
                    total += usage;
                }
                if decided {
                    break;
                }
                assert_eq!(PROBED.state(), State::Open);
                probe_fails = false;
            }
            assert_eq!(PROBED.state(), State::Closed);
        }
        assert_eq!(total, NONE);
    });
}

#[test]
fn retried_call_allocates_nothing() {
    // 2,000 retries in a few simulated minutes would be far beyond the default budget: this test
    // is about the retry loop, the next one about the budget.
    static RETRIED: Breaker =
        Breaker::new(config(Config::builder("alloc.retried").budget(Budget::Off)));
    const PER_ATTEMPT: CallPolicy = match CallPolicy::builder()
        .attempts(3)
        .retry(Granularity::PerAttempt)
        .backoff(Backoff::Exponential {
            start: Duration::from_millis(100),
            cap: Duration::from_secs(2),
        })
        .build()
    {
        Ok(policy) => policy,
        Err(_) => panic!("invalid policy"),
    };
    const PER_CALL_TIMEOUT: CallPolicy = match CallPolicy::builder()
        .attempts(3)
        .retry(Granularity::PerCall)
        .timeout(Duration::from_secs(1))
        .build()
    {
        Ok(policy) => policy,
        Err(_) => panic!("invalid policy"),
    };

    let runtime = paused_runtime();
    runtime.block_on(async {
        for policy in [PER_ATTEMPT, PER_CALL_TIMEOUT] {
            // Fails twice, then succeeds: two waits on the paused clock per call.
            let once = || async move {
                let mut attempt = 0u32;
                let r: Result<u32, Error> = policy
                    .run(&RETRIED, Verdict::transient, || {
                        attempt += 1;
                        let ok = attempt == 3;
                        async move { if ok { Ok(attempt) } else { Err(Error::Down) } }
                    })
                    .await;
                assert_eq!(r.expect("the third attempt succeeds"), 3);
            };
            for _ in 0..100 {
                once().await;
            }
            let before = RETRIED.metrics();
            let meter = Meter::start();
            for _ in 0..1_000 {
                once().await;
            }
            let usage = meter.stop();
            assert_eq!(usage, NONE, "{policy}");
            let after = RETRIED.metrics();
            assert_eq!(after.retries - before.retries, 2_000, "{policy}");
            assert_eq!(RETRIED.state(), State::Closed);
        }
    });
}

/// The budget's withdraw path (R11), granting and denying, allocates nothing: a call that fails
/// once and then succeeds, through the default budget of 20%, with its 10 retries a second.
#[test]
fn budgeted_retries_allocate_nothing() {
    // Denied calls record their failure: a threshold they never reach keeps it closed.
    static BUDGETED: Breaker = Breaker::new(config(
        Config::builder("alloc.budgeted").threshold(u32::MAX),
    ));
    const TWICE: CallPolicy = match CallPolicy::builder()
        .attempts(2)
        .retry(Granularity::PerAttempt)
        .backoff(Backoff::Fixed(Duration::from_millis(10)))
        .jitter(false)
        .build()
    {
        Ok(policy) => policy,
        Err(_) => panic!("invalid policy"),
    };

    let runtime = paused_runtime();
    runtime.block_on(async {
        // Fails its first attempt; a retry, when granted, succeeds.
        let once = || async {
            let mut attempt = 0u32;
            let r: Result<u32, Error> = TWICE
                .run(&BUDGETED, Verdict::transient, || {
                    attempt += 1;
                    let ok = attempt == 2;
                    async move { if ok { Ok(attempt) } else { Err(Error::Down) } }
                })
                .await;
            r.is_ok()
        };
        // Granted: one call every 200 ms is 5 retries a second, under the floor of 10.
        for _ in 0..100 {
            assert!(once().await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let meter = Meter::start();
        for _ in 0..1_000 {
            assert!(once().await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(meter.stop(), NONE, "granted");
        let m = BUDGETED.metrics();
        assert_eq!((m.retries, m.retries_denied), (1_100, 0));

        // Denied: 1,100 calls at once, 10 s after the last. The floor grants the first 100, then
        // 20% of the first attempts: 220 of 1,100 in all (each grant waits 10 ms, 2.2 s in all).
        tokio::time::sleep(Duration::from_secs(10)).await;
        for _ in 0..100 {
            assert!(once().await);
        }
        let meter = Meter::start();
        let granted = {
            let mut granted = 0;
            for _ in 0..1_000 {
                granted += u32::from(once().await);
            }
            granted
        };
        assert_eq!(meter.stop(), NONE, "granted and denied");
        assert_eq!(granted, 120);
        let m = BUDGETED.metrics();
        assert_eq!((m.retries, m.retries_denied), (1_100 + 220, 880));
    });
}

#[test]
fn open_close_cycles_retain_nothing() {
    static CYCLED: Breaker = Breaker::new(Config::new("alloc.cycled"));
    static TRIPPED: Breaker = Breaker::new(config(
        Config::builder("alloc.tripped")
            .threshold(1)
            .reset(Reset::Fixed(Duration::from_secs(1))),
    ));
    // A subscriber that never reads: every transition lands in the event ring, which overwrites its
    // oldest entries in place.
    let _events = breakerbox::registry().subscribe();

    let cycle = || {
        CYCLED.force_open();
        CYCLED.reset();
    };
    for _ in 0..100 {
        cycle();
    }
    let ((), usage) = measure(|| (0..10_000).for_each(|_| cycle()));
    assert_eq!(usage, NONE, "force_open / reset");

    // Trip and probe, on tokio's paused clock; here the test's own `advance` is measured too.
    let runtime = paused_runtime();
    runtime.block_on(async {
        let cycle = || async {
            call(&TRIPPED, false).expect_err("opens it");
            tokio::time::advance(Duration::from_secs(1)).await;
            call(&TRIPPED, true).expect("the probe closes it");
        };
        for _ in 0..100 {
            cycle().await;
        }
        let meter = Meter::start();
        for _ in 0..10_000 {
            cycle().await;
        }
        let usage = meter.stop();
        assert_eq!(usage, NONE, "trip / probe");
        assert_eq!(TRIPPED.state(), State::Closed);
    });
}

// ---- through the attribute ----

#[breakerbox::circuit_breaker(name = "alloc.annotated.sync", threshold = 1_000_000)]
fn annotated_sync(ok: bool) -> Result<u32, Error> {
    if std::hint::black_box(ok) {
        Ok(7)
    } else {
        Err(Error::Down)
    }
}

/// 2,200 retries in a few simulated minutes: beyond the default budget, so its breaker has none.
/// (Declared by hand until the attribute takes `budget = "off"`.)
static ANNOTATED_ASYNC: Breaker = Breaker::new(config(
    Config::builder("alloc.annotated.async").budget(Budget::Off),
));

#[breakerbox::circuit_breaker(
    shared = ANNOTATED_ASYNC,
    attempts = 3,
    retry = "per_attempt",
    backoff = "100ms..2s",
    timeout = "1s"
)]
async fn annotated_async(attempt: &std::cell::Cell<u32>) -> Result<u32, Error> {
    attempt.set(attempt.get() + 1);
    if attempt.get().is_multiple_of(3) {
        Ok(attempt.get())
    } else {
        Err(Error::Down)
    }
}

#[breakerbox::circuit_breaker(name = "alloc.annotated.open", threshold = 1, reset = "1h")]
fn annotated_open() -> Result<u32, Error> {
    Err(Error::Down)
}

#[test]
fn annotated_fns_allocate_nothing() {
    let usage = per_call(100, CALLS, || {
        let _ = std::hint::black_box(annotated_sync(true));
        let _ = std::hint::black_box(annotated_sync(false));
    });
    assert_eq!(usage, NONE, "sync success and failure");

    let _ = annotated_open();
    let usage = per_call(100, CALLS, || {
        assert!(matches!(annotated_open(), Err(Error::Rejected(_))));
    });
    assert_eq!(usage, NONE, "sync rejection");

    // Two failed attempts, two backoff waits and a timeout branch per call, on the paused clock.
    let runtime = paused_runtime();
    runtime.block_on(async {
        let attempt = std::cell::Cell::new(0);
        for _ in 0..100 {
            assert_eq!(annotated_async(&attempt).await.ok().map(|n| n % 3), Some(0));
        }
        let meter = Meter::start();
        for _ in 0..1_000 {
            assert_eq!(annotated_async(&attempt).await.ok().map(|n| n % 3), Some(0));
        }
        assert_eq!(meter.stop(), NONE, "async retried call");
    });
    let m = breakerbox::registry()
        .get("alloc.annotated.async")
        .unwrap()
        .metrics();
    assert_eq!((m.successes, m.failures, m.retries), (1_100, 2_200, 2_200));
}

/// A breaker built at run time (owned name, in an `Arc`, registered) costs no allocation per call
/// either, through borrowed and owned permits, on success, failure, rejection and with a slow-call
/// policy (whose permit carries its admission time).
#[test]
fn runtime_built_breakers_allocate_nothing() {
    let consecutive = breakerbox::registry()
        .register(Breaker::new_named(
            String::from("alloc.runtime.consecutive"),
            config(Config::builder("x").threshold(1_000_000)),
        ))
        .unwrap();
    let slow = std::sync::Arc::new(Breaker::new_named(
        String::from("alloc.runtime.slow"),
        config(
            Config::builder("x")
                .slow(HOUR)
                .slow_rate(50)
                .window(Window::Count(100)),
        ),
    ));
    let usage = per_call(100, CALLS, || {
        call(consecutive, true).expect("closed");
        let _ = call(consecutive, false);
        call(&slow, true).expect("closed");
        slow.acquire_owned().expect("closed").success();
    });
    assert_eq!(usage, NONE);
    consecutive.force_open();
    let usage = per_call(100, CALLS, || {
        assert!(call(consecutive, true).is_err());
    });
    assert_eq!(usage, NONE, "rejections");
}

// ---- nesting ----

/// The outer fn retries twice per call, for 1,100 calls: it has no budget, so that every call
/// nests the same way. (Declared by hand until the attribute takes `budget = "off"`.)
static NESTING_OUTER: Breaker = Breaker::new(config(
    Config::builder("alloc.nested.outer")
        .threshold(u32::MAX)
        .budget(Budget::Off),
));

#[breakerbox::circuit_breaker(
    name = "alloc.nested.retrying",
    threshold = 1_000_000,
    attempts = 3,
    retry = "per_call",
    backoff = "0ms"
)]
fn nested_retrying() -> Result<u32, Error> {
    Err(Error::Down)
}

#[breakerbox::circuit_breaker(name = "alloc.nested.single", threshold = 1_000_000)]
fn nested_single() -> Result<u32, Error> {
    Err(Error::Down)
}

#[breakerbox::circuit_breaker(shared = NESTING_OUTER, attempts = 3, retry = "per_call", backoff = "0ms")]
fn nesting_outer() -> Result<u32, Error> {
    let _ = nested_single();
    nested_retrying()
}

/// R12: a call nested in another's attempt reads the scope, finds its edge in this thread's cache,
/// and makes one attempt; the edges are recorded once, on the first call (warm-up).
#[test]
fn nested_calls_allocate_nothing() {
    let usage = per_call(100, 1_000, || {
        assert!(matches!(nesting_outer(), Err(Error::Down)));
    });
    assert_eq!(usage, NONE);
    let retrying = breakerbox::registry()
        .get("alloc.nested.retrying")
        .unwrap()
        .metrics();
    // 3 outer attempts per call, each making one attempt of the inner fn, which would have
    // retried: 3,300 calls cut to one attempt.
    assert_eq!(
        (retrying.admitted, retrying.retries, retrying.nested_single),
        (3_300, 0, 3_300)
    );
    let worst: Vec<(&str, u32, u64)> = breakerbox::registry()
        .edges()
        .filter(|e| e.outer().breaker().name() == "alloc.nested.outer")
        .map(|e| (e.inner().breaker().name(), e.worst_case(), e.suppressed()))
        .collect();
    assert_eq!(
        worst,
        [
            ("alloc.nested.single", 3, 0),
            ("alloc.nested.retrying", 3, 3_300)
        ]
    );
}
