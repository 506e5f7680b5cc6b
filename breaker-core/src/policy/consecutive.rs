//! The consecutive policy: the breaker opens after `threshold` recorded failures in a row.

use crate::generation::is_newer;
use crate::sync::{AtomicU64, Ordering};

use super::Recorded;

/// Failures in a row, tagged with the closed generation they belong to: `(generation << 32) |
/// failures`. The tag lets a close start from zero without a second write racing the first
/// failure, and lets an outcome of an older generation see that it is late (R5).
#[derive(Debug)]
pub(crate) struct Consecutive {
    threshold: u32,
    count: AtomicU64,
}

impl Consecutive {
    crate::sync::maybe_const! {
        pub(crate) fn new(threshold: u32) -> Consecutive {
            Consecutive {
                threshold,
                count: AtomicU64::new(0),
            }
        }
    }

    /// A success of `generation`: the count starts again. The common case, no failure counted,
    /// reads one word and writes nothing (R9).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn success(&self, generation: u32) {
        let current = self.count.load(Ordering::Relaxed);
        if unpack(current).1 != 0 {
            self.clear(current, generation);
        }
    }

    #[cold]
    fn clear(&self, current: u64, generation: u32) {
        if unpack(current).0 == generation {
            // Relaxed: the count orders nothing; a lost race with a failure of the same generation
            // only means that failure's count survives, as it should. A count of another
            // generation is left alone: an older one is dead, a newer one is not ours (R5).
            let _ = self.count.compare_exchange(
                current,
                pack(generation, 0),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// A failure of `generation`: one more in a row, and a request to open at the threshold.
    pub(crate) fn failure(&self, generation: u32) -> Recorded<u32> {
        let mut current = self.count.load(Ordering::Relaxed);
        loop {
            let (tagged, failures) = unpack(current);
            if is_newer(tagged, generation) {
                // The breaker has closed again since this outcome's admission: the count is not
                // ours to touch.
                return Recorded::Late;
            }
            let failures = if tagged == generation {
                failures.saturating_add(1)
            } else {
                1
            };
            match self.count.compare_exchange_weak(
                current,
                pack(generation, failures),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Recorded::Counted((failures >= self.threshold).then_some(failures));
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Failures in a row in `generation`.
    pub(crate) fn failures(&self, generation: u32) -> u32 {
        let (tagged, failures) = unpack(self.count.load(Ordering::Relaxed));
        if tagged == generation { failures } else { 0 }
    }
}

const fn pack(generation: u32, failures: u32) -> u64 {
    ((generation as u64) << 32) | failures as u64
}

const fn unpack(bits: u64) -> (u32, u32) {
    ((bits >> 32) as u32, bits as u32)
}
