//! Per-breaker counters and their snapshot.
//!
//! The success path of a closed breaker must not write memory another thread writes (R9): two
//! threads incrementing one atomic counter bounce its cache line between cores on every call. So the
//! counters that path touches, `admitted` and `successes`, are split into per-thread slots: each
//! thread leases a slot of its own for its lifetime and bumps it with a plain load and store, which no
//! other thread writes. Each count goes to the slot of the thread that makes it: a permit admitted
//! on one thread and settled on another (an async fn resumed by another worker) counts its
//! admission in the first thread's slot and its success in the second's, and a slot is never
//! written by a thread that does not hold it (R10). A snapshot sums the slots. Threads beyond the
//! slot count share one last slot and pay an atomic add. The rarer outcomes (failures,
//! rejections, ...) are ordinary atomics.
//!
//! [`Breaker::reset`](crate::Breaker::reset) empties the counts without writing any slot: it moves
//! a baseline, which snapshots subtract.

use crate::sync::{AtomicU64, Mutex, Ordering};

/// A snapshot of a breaker's counts since process start (or since the breaker was built).
///
/// ```
/// use breaker_core::{Breaker, Config};
///
/// static API: Breaker = Breaker::new(Config::new("api"));
/// API.try_acquire().unwrap().success();
/// let m = API.metrics();
/// assert_eq!((m.admitted, m.successes, m.failures), (1, 1, 0));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct Metrics {
    /// Calls (or attempts, with `per_attempt`) the breaker let through. With `per_call` each call is
    /// admitted once, so the requests it sent are `admitted + retries`.
    pub admitted: u64,
    /// Admitted calls recorded as successes.
    pub successes: u64,
    /// Admitted calls recorded as failures, timeouts included.
    pub failures: u64,
    /// Admitted calls whose error was classified [`Verdict::Ignore`](crate::Verdict::Ignore).
    pub ignored: u64,
    /// Calls (or attempts, with `per_attempt`) refused without running.
    pub rejected: u64,
    /// Attempts cut off by their `timeout` (also counted in `failures`).
    pub timeouts: u64,
    /// Outcomes dropped because the breaker changed state after their admission (R5).
    pub late: u64,
    /// Attempts beyond the first of a call.
    pub retries: u64,
    /// Retries the breaker's retry budget did not allow (R11): the call returned its last error at
    /// once, without waiting.
    pub retries_denied: u64,
    /// Calls that made a single attempt because they ran inside an attempt of another retrying call
    /// (R12), counted when that attempt failed in a way that would otherwise have been retried.
    pub nested_single: u64,
    /// Admitted calls dropped before their outcome was recorded (a cancelled future, a call
    /// dropped while another panic unwinds): nothing recorded, a half-open slot given back.
    pub cancelled: u64,
    /// Failures in a row in the current closed period (consecutive policy).
    pub consecutive_failures: u64,
    /// Outcomes in the current window (failure-rate or slow-call policy).
    pub window_calls: u64,
    /// Failures among them (failure-rate policy).
    pub window_failures: u64,
    /// Slow calls among them (slow-call policy).
    pub window_slow: u64,
}

/// Slots for threads that lease one of their own; the last one is shared by every other thread.
const SLOTS: usize = 16;
const SHARED_SLOT: usize = SLOTS - 1;

#[repr(align(128))] // two cache lines: adjacent-line prefetchers pull pairs on x86
#[derive(Debug)]
struct Slot {
    admitted: AtomicU64,
    successes: AtomicU64,
    rejected: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Counters {
    slots: [Slot; SLOTS],
    failures: AtomicU64,
    ignored: AtomicU64,
    timeouts: AtomicU64,
    late: AtomicU64,
    retries: AtomicU64,
    retries_denied: AtomicU64,
    nested_single: AtomicU64,
    cancelled: AtomicU64,
    /// The raw counts at the last reset; snapshots report the counts since.
    baseline: Mutex<Metrics>,
}

#[cfg(not(loom))]
const fn slots() -> [Slot; SLOTS] {
    [const { Slot::new() }; SLOTS]
}

#[cfg(loom)]
fn slots() -> [Slot; SLOTS] {
    std::array::from_fn(|_| Slot::new())
}

impl Slot {
    crate::sync::maybe_const! {
        fn new() -> Slot {
            Slot {
                admitted: AtomicU64::new(0),
                successes: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
            }
        }
    }
}

impl Counters {
    crate::sync::maybe_const! {
        pub(crate) fn new() -> Counters {
            Counters {
                slots: slots(),
                failures: AtomicU64::new(0),
                ignored: AtomicU64::new(0),
                timeouts: AtomicU64::new(0),
                late: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                retries_denied: AtomicU64::new(0),
                nested_single: AtomicU64::new(0),
                cancelled: AtomicU64::new(0),
                baseline: Mutex::new(ZERO),
            }
        }
    }

    /// Counts an admission in this thread's slot.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn admitted(&self) {
        let slot = lease::index();
        bump_slot(slot, &self.slots[slot].admitted);
    }

    /// Counts a success in this thread's slot: the settling thread's, whichever admitted it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn success(&self) {
        let slot = lease::index();
        bump_slot(slot, &self.slots[slot].successes);
    }

    /// Counts a rejection in this thread's slot: during an outage every caller rejects, and
    /// one shared counter would put them all on one cache line.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn rejected(&self) {
        let slot = lease::index();
        bump_slot(slot, &self.slots[slot].rejected);
    }

    pub(crate) fn failure(&self) {
        bump(&self.failures);
    }

    pub(crate) fn ignored(&self) {
        bump(&self.ignored);
    }

    pub(crate) fn timeout(&self) {
        bump(&self.timeouts);
    }

    pub(crate) fn late(&self) {
        bump(&self.late);
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the retry driver, which loom leaves out
    pub(crate) fn retry(&self) {
        bump(&self.retries);
    }

    pub(crate) fn cancelled(&self) {
        bump(&self.cancelled);
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the retry driver, which loom leaves out
    pub(crate) fn retry_denied(&self) {
        bump(&self.retries_denied);
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the retry driver, which loom leaves out
    pub(crate) fn nested_single(&self) {
        bump(&self.nested_single);
    }

    /// Successes since the breaker was built, reset or not: what the retry budget counts first
    /// attempts from.
    #[cfg_attr(loom, allow(dead_code))] // used by the retry budget, which loom leaves out
    pub(crate) fn successes_since_start(&self) -> u64 {
        self.slots.iter().fold(0u64, |sum, slot| {
            sum.wrapping_add(slot.successes.load(Ordering::Relaxed))
        })
    }

    /// The counts since the last [`reset`](Counters::reset).
    pub(crate) fn snapshot(&self) -> Metrics {
        // Read under the baseline's lock, so a reset cannot fall between the two readings.
        let base = self.lock_baseline();
        let raw = self.raw();
        Metrics {
            admitted: raw.admitted.saturating_sub(base.admitted),
            successes: raw.successes.saturating_sub(base.successes),
            failures: raw.failures.saturating_sub(base.failures),
            ignored: raw.ignored.saturating_sub(base.ignored),
            rejected: raw.rejected.saturating_sub(base.rejected),
            timeouts: raw.timeouts.saturating_sub(base.timeouts),
            late: raw.late.saturating_sub(base.late),
            retries: raw.retries.saturating_sub(base.retries),
            retries_denied: raw.retries_denied.saturating_sub(base.retries_denied),
            nested_single: raw.nested_single.saturating_sub(base.nested_single),
            cancelled: raw.cancelled.saturating_sub(base.cancelled),
            ..ZERO
        }
    }

    /// Empties the counts: from now on snapshots count from here.
    pub(crate) fn reset(&self) {
        let mut base = self.lock_baseline();
        *base = self.raw();
    }

    fn lock_baseline(&self) -> crate::sync::MutexGuard<'_, Metrics> {
        // Nothing panics while holding it, and a poisoned baseline is still a valid one.
        self.baseline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn raw(&self) -> Metrics {
        let load = |field: fn(&Slot) -> &AtomicU64| {
            self.slots.iter().fold(0u64, |sum, slot| {
                sum.wrapping_add(field(slot).load(Ordering::Relaxed))
            })
        };
        Metrics {
            admitted: load(|s| &s.admitted),
            successes: load(|s| &s.successes),
            rejected: load(|s| &s.rejected),
            failures: self.failures.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            retries_denied: self.retries_denied.load(Ordering::Relaxed),
            nested_single: self.nested_single.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            ..ZERO
        }
    }
}

const ZERO: Metrics = Metrics {
    admitted: 0,
    successes: 0,
    failures: 0,
    ignored: 0,
    rejected: 0,
    timeouts: 0,
    late: 0,
    retries: 0,
    retries_denied: 0,
    nested_single: 0,
    cancelled: 0,
    consecutive_failures: 0,
    window_calls: 0,
    window_failures: 0,
    window_slow: 0,
};

// Counters are statistics: they order nothing, so every access is `Relaxed`.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn bump_slot(slot: usize, counter: &AtomicU64) {
    if slot == SHARED_SLOT {
        counter.fetch_add(1, Ordering::Relaxed);
    } else {
        // Only the thread holding the lease writes this slot, so a load and a store cannot lose an
        // increment; the lease's hand-over goes through a mutex, which orders the previous holder's
        // last store before the next holder's first load.
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }
}

#[cfg(not(loom))]
mod lease {
    //! Which slot the current thread owns.
    //!
    //! The index lives in a `const`-initialised thread-local without a destructor, which reads as
    //! one load; the lease that gives the slot back when the thread ends is a second thread-local,
    //! touched once per thread.
    use std::cell::Cell;
    use std::sync::Mutex;

    use super::SHARED_SLOT;

    const UNASSIGNED: usize = usize::MAX;

    /// Slot indices given back by threads that ended, and the next never-used one.
    static POOL: Mutex<(usize, Vec<usize>)> = Mutex::new((0, Vec::new()));

    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(UNASSIGNED) };
        static LEASE: Lease = Lease::take();
    }

    struct Lease(usize);

    impl Lease {
        fn take() -> Lease {
            let mut pool = POOL
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (next, free) = &mut *pool;
            if let Some(index) = free.pop() {
                return Lease(index);
            }
            if *next < SHARED_SLOT {
                *next += 1;
                return Lease(*next - 1);
            }
            Lease(SHARED_SLOT)
        }
    }

    impl Drop for Lease {
        fn drop(&mut self) {
            // From now on this thread counts in the shared slot: the one it held may go to another
            // thread, and two plain writers would lose increments.
            let _ = INDEX.try_with(|index| index.set(SHARED_SLOT));
            if self.0 != SHARED_SLOT {
                let mut pool = POOL
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                pool.1.push(self.0);
            }
        }
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn index() -> usize {
        match INDEX.try_with(Cell::get) {
            Ok(UNASSIGNED) => assign(),
            Ok(index) => index,
            Err(_) => SHARED_SLOT,
        }
    }

    #[cold]
    #[inline(never)]
    fn assign() -> usize {
        // During thread teardown the lease may be gone already: use the shared slot.
        let index = LEASE.try_with(|lease| lease.0).unwrap_or(SHARED_SLOT);
        let _ = INDEX.try_with(|cell| cell.set(index));
        index
    }
}

#[cfg(loom)]
mod lease {
    //! Loom models every thread on the shared slot, whose increments are atomic adds.
    pub(super) fn index() -> usize {
        super::SHARED_SLOT
    }
}
