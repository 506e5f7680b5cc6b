//! Per-breaker counters and their snapshot.
//!
//! The success path of a closed breaker must not write memory another thread writes (R9): two
//! threads incrementing one atomic counter bounce its cache line between cores on every call. So the
//! two counters that path touches, `admitted` and `successes`, are split into per-thread slots: each
//! thread leases a slot of its own for its lifetime and bumps it with a plain load and store, which no
//! other thread writes. A snapshot sums the slots. Threads beyond the slot count share one last slot
//! and pay an atomic add. The rarer outcomes (failures, rejections, ...) are ordinary atomics.

use crate::sync::{AtomicU64, Ordering};

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
    /// Calls (or attempts, with `per_attempt`) the breaker let through.
    pub admitted: u64,
    /// Admitted calls recorded as successes.
    pub successes: u64,
    /// Admitted calls recorded as failures, timeouts included.
    pub failures: u64,
    /// Admitted calls whose error was classified [`Verdict::Ignore`](crate::Verdict::Ignore).
    pub ignored: u64,
    /// Calls refused without running.
    pub rejected: u64,
    /// Attempts cut off by their `timeout` (also counted in `failures`).
    pub timeouts: u64,
    /// Outcomes dropped because the breaker changed state after their admission (R5).
    pub late: u64,
    /// Attempts beyond the first of a call.
    pub retries: u64,
    /// Failures in a row in the current closed period (consecutive policy).
    pub consecutive_failures: u64,
    /// Outcomes in the current window (failure-rate policy).
    pub window_calls: u64,
    /// Failures among them (failure-rate policy).
    pub window_failures: u64,
}

/// Slots for threads that lease one of their own; the last one is shared by every other thread.
const SLOTS: usize = 16;
const SHARED_SLOT: usize = SLOTS - 1;

#[repr(align(128))] // two cache lines: adjacent-line prefetchers pull pairs on x86
#[derive(Debug)]
struct Slot {
    admitted: AtomicU64,
    successes: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Counters {
    slots: [Slot; SLOTS],
    failures: AtomicU64,
    ignored: AtomicU64,
    rejected: AtomicU64,
    timeouts: AtomicU64,
    late: AtomicU64,
    retries: AtomicU64,
}

macro_rules! maybe_const {
    ($(#[$m:meta])* $vis:vis fn $name:ident() -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$m])* $vis const fn $name() -> $ret $body
        #[cfg(loom)]
        $(#[$m])* $vis fn $name() -> $ret $body
    };
}

impl Slot {
    maybe_const! {
        fn new() -> Slot {
            Slot { admitted: AtomicU64::new(0), successes: AtomicU64::new(0) }
        }
    }
}

impl Counters {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Counters {
        Counters {
            slots: [const { Slot::new() }; SLOTS],
            failures: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            late: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Counters {
        Counters {
            slots: std::array::from_fn(|_| Slot::new()),
            failures: AtomicU64::new(0),
            ignored: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            late: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn admitted(&self) {
        bump_hot(self.slot(), |s| &s.admitted);
    }

    #[inline]
    pub(crate) fn success(&self) {
        bump_hot(self.slot(), |s| &s.successes);
    }

    #[inline]
    fn slot(&self) -> (usize, &Slot) {
        let index = lease::index();
        (index, &self.slots[index])
    }

    pub(crate) fn failure(&self) {
        bump(&self.failures);
    }

    pub(crate) fn ignored(&self) {
        bump(&self.ignored);
    }

    pub(crate) fn rejected(&self) {
        bump(&self.rejected);
    }

    pub(crate) fn timeout(&self) {
        bump(&self.timeouts);
    }

    pub(crate) fn late(&self) {
        bump(&self.late);
    }

    pub(crate) fn retry(&self) {
        bump(&self.retries);
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        let (admitted, successes) = self.slots.iter().fold((0u64, 0u64), |(a, s), slot| {
            (
                a.wrapping_add(slot.admitted.load(Ordering::Relaxed)),
                s.wrapping_add(slot.successes.load(Ordering::Relaxed)),
            )
        });
        Metrics {
            admitted,
            successes,
            failures: self.failures.load(Ordering::Relaxed),
            ignored: self.ignored.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            ..Metrics::default()
        }
    }
}

// Counters are statistics: they order nothing, so every access is `Relaxed`.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[inline]
fn bump_hot(slot: (usize, &Slot), field: impl Fn(&Slot) -> &AtomicU64) {
    let (index, slot) = slot;
    let counter = field(slot);
    if index == SHARED_SLOT {
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
    use std::sync::Mutex;

    use super::SHARED_SLOT;

    /// Slot indices given back by threads that ended, and the next never-used one.
    static POOL: Mutex<(usize, Vec<usize>)> = Mutex::new((0, Vec::new()));

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
            if self.0 != SHARED_SLOT {
                let mut pool = POOL
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                pool.1.push(self.0);
            }
        }
    }

    thread_local! {
        static LEASE: Lease = Lease::take();
    }

    #[inline]
    pub(super) fn index() -> usize {
        // During thread teardown the lease may be gone already: fall back to the shared slot.
        LEASE.try_with(|lease| lease.0).unwrap_or(SHARED_SLOT)
    }
}

#[cfg(loom)]
mod lease {
    //! Loom models every thread on the shared slot, whose increments are atomic adds.
    pub(super) fn index() -> usize {
        super::SHARED_SLOT
    }
}
