//! Counts stay exact when a permit is admitted on one thread and settled on another (R10).
//!
//! A permit is `Send`: a caller may acquire on one thread and record the outcome on another (a
//! worker pool, a future resumed elsewhere). Admissions and successes are counted in per-thread
//! slots on the hot path (R9), so these tests make the settling thread differ from the admitting
//! one for every permit, with several settlers per admitting thread at once, and then require every
//! counter to add up exactly: nothing lost, nothing counted twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, PoisonError};
use std::thread;

use breaker_core::{Breaker, Config, MAX_COUNT_WINDOW, Metrics, Permit, Window};

/// Threads that acquire, and as many that settle.
const THREADS: usize = 4;
/// Permits each acquiring thread takes.
const PER_THREAD: u64 = 200_000;
const TOTAL: u64 = THREADS as u64 * PER_THREAD;

/// A consecutive breaker that no number of failures here can open: its successes take the hot
/// path.
static HOT_PATH: Breaker = Breaker::new(built(
    Config::builder("cross_thread.hot_path")
        .threshold(u32::MAX)
        .build(),
));

const fn built(config: Result<Config, breaker_core::ConfigError>) -> Config {
    match config {
        Ok(config) => config,
        Err(_) => panic!("invalid test config"),
    }
}

/// Every counter, compared at once so a mismatch shows them all.
#[derive(Debug, PartialEq, Eq)]
struct Totals {
    admitted: u64,
    successes: u64,
    failures: u64,
    timeouts: u64,
    ignored: u64,
    cancelled: u64,
    late: u64,
    rejected: u64,
    retries: u64,
    consecutive_failures: u64,
    window_calls: u64,
    window_failures: u64,
}

impl From<Metrics> for Totals {
    fn from(m: Metrics) -> Totals {
        Totals {
            admitted: m.admitted,
            successes: m.successes,
            failures: m.failures,
            timeouts: m.timeouts,
            ignored: m.ignored,
            cancelled: m.cancelled,
            late: m.late,
            rejected: m.rejected,
            retries: m.retries,
            consecutive_failures: m.consecutive_failures,
            window_calls: m.window_calls,
            window_failures: m.window_failures,
        }
    }
}

/// `THREADS` threads acquire `PER_THREAD` permits each from `breaker` and deal them out over
/// channels, in equal interleaved parts, to `THREADS` settling threads. Once every part has
/// arrived the settlers start at one instant and take the acquirers in turn, all together: each
/// settles its part of acquirer 0's permits in a tight loop, meets the others, goes on to acquirer
/// 1, and so on, so one acquirer's permits are settled by all the settlers at once. A settler
/// gives permit number `k` of its acquirer to `settle(k, permit)`.
fn acquire_here_settle_there(breaker: &'static Breaker, settle: fn(u64, Permit<'static>)) {
    // The tests take turns: each wants every core for its settlers to collide on.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);

    type Part = (usize, Vec<(u64, Permit<'static>)>);
    let (senders, receivers): (Vec<SyncSender<Part>>, Vec<Receiver<Part>>) =
        (0..THREADS).map(|_| sync_channel(THREADS)).unzip();
    let meeting = SpinBarrier::new(THREADS);
    thread::scope(|s| {
        for rx in receivers {
            let meeting = &meeting;
            s.spawn(move || {
                let mut parts: Vec<Part> = rx.iter().collect();
                assert_eq!(parts.len(), THREADS, "one part from each acquirer");
                parts.sort_by_key(|&(acquirer, _)| acquirer);
                for (_, part) in parts {
                    meeting.wait();
                    for (k, permit) in part {
                        settle(k, permit);
                    }
                }
            });
        }
        for acquirer in 0..THREADS {
            let senders = senders.clone();
            s.spawn(move || {
                let mut parts: Vec<Vec<_>> = (0..THREADS).map(|_| Vec::new()).collect();
                for k in 0..PER_THREAD {
                    let permit = breaker.try_acquire().expect("it cannot open");
                    parts[k as usize % THREADS].push((k, permit));
                }
                for (part, settler) in parts.into_iter().zip(&senders) {
                    settler
                        .send((acquirer, part))
                        .expect("the settler is running");
                }
            });
        }
        // Each settler's channel closes when the last acquirer drops its senders.
        drop(senders);
    });
}

/// A barrier whose waiters spin, so they leave it together rather than one wake-up apart.
struct SpinBarrier {
    parties: usize,
    arrived: AtomicUsize,
}

impl SpinBarrier {
    fn new(parties: usize) -> SpinBarrier {
        SpinBarrier {
            parties,
            arrived: AtomicUsize::new(0),
        }
    }

    fn wait(&self) {
        // Meeting `n` is over once `n * parties` arrivals have been counted.
        let arrival = self.arrived.fetch_add(1, Ordering::AcqRel);
        let over = (arrival / self.parties + 1) * self.parties;
        while self.arrived.load(Ordering::Acquire) < over {
            thread::yield_now();
        }
    }
}

#[test]
fn successes_settled_on_other_threads_are_all_counted() {
    acquire_here_settle_there(&HOT_PATH, |_, permit| permit.success());
    let m = HOT_PATH.metrics();
    assert_eq!(
        (m.admitted, m.successes),
        (TOTAL, TOTAL),
        "{} successes lost",
        TOTAL.saturating_sub(m.successes)
    );
    assert_eq!(
        Totals::from(m),
        Totals {
            admitted: TOTAL,
            successes: TOTAL,
            failures: 0,
            timeouts: 0,
            ignored: 0,
            cancelled: 0,
            late: 0,
            rejected: 0,
            retries: 0,
            consecutive_failures: 0,
            window_calls: 0,
            window_failures: 0,
        }
    );
}

#[test]
fn every_kind_of_outcome_settled_on_other_threads_is_counted_once() {
    // A count window as large as allowed, judged only once it is full: the 3/5 of the permits
    // recorded here never fill it, so it never opens and every outcome lands in the window.
    let config = Config::builder("cross_thread.mixed")
        .failure_rate(1)
        .window(Window::Count(MAX_COUNT_WINDOW))
        .min_calls(MAX_COUNT_WINDOW)
        .build()
        .expect("valid config");
    let breaker: &'static Breaker = Box::leak(Box::new(Breaker::new(config)));
    acquire_here_settle_there(breaker, |k, permit| match k % 5 {
        0 => permit.success(),
        1 => permit.failure(),
        2 => permit.timeout(),
        3 => permit.ignore(),
        _ => drop(permit),
    });
    let fifth = TOTAL / 5;
    assert_eq!(
        Totals::from(breaker.metrics()),
        Totals {
            admitted: TOTAL,
            successes: fifth,
            failures: 2 * fifth,
            timeouts: fifth,
            ignored: fifth,
            cancelled: fifth,
            late: 0,
            rejected: 0,
            retries: 0,
            consecutive_failures: 0,
            window_calls: 3 * fifth,
            window_failures: 2 * fifth,
        }
    );
}
