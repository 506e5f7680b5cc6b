//! Monotonic time, as whole milliseconds since a process-wide base (R8).
//!
//! The breaker stores the start of an open period in one `AtomicU64` next to the generation it
//! belongs to (see [`Stamp`]), so an instant has to fit in 44 bits: milliseconds do, for 557 years.
//! Reading the clock goes through `tokio::time::Instant`, so a test that calls
//! `tokio::time::pause()` drives every breaker's timing with `advance`.

use std::time::Duration;

/// Bits of a [`Stamp`] that hold the time.
const TIME_BITS: u32 = 44;
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;
/// The generation's low bits a stamp carries.
const TAG_MASK: u64 = (1 << (64 - TIME_BITS)) - 1;

/// Milliseconds since the clock's base.
pub(crate) type Millis = u64;

#[cfg(not(loom))]
mod source {
    use std::sync::OnceLock;
    use std::time::Duration;
    use tokio::time::Instant;

    static BASE: OnceLock<Instant> = OnceLock::new();

    /// The base lies an hour before the first reading of the real clock. A paused tokio clock starts
    /// at the real time of its runtime's creation, which can be a moment before the base was first
    /// read; the margin keeps every instant a test can produce after the base, so no reading is
    /// clamped to zero and no period ends a millisecond early or late.
    fn base() -> Instant {
        *BASE.get_or_init(|| {
            let real = Instant::from_std(std::time::Instant::now());
            real.checked_sub(Duration::from_secs(3600)).unwrap_or(real)
        })
    }

    pub(crate) fn now() -> super::Millis {
        let elapsed = Instant::now().saturating_duration_since(base());
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(loom)]
mod source {
    //! Loom models drive time by hand. Loom runs a model's threads as coroutines on the test's own
    //! thread, so a thread-local clock is shared by one model and private to it: tests running in
    //! parallel cannot move each other's time.
    use std::cell::Cell;

    thread_local! {
        static NOW: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn now() -> super::Millis {
        NOW.with(Cell::get)
    }

    /// Moves the model's clock forward.
    pub fn advance(ms: u64) {
        NOW.with(|now| now.set(now.get() + ms));
    }

    /// Sets the model's clock back to zero: each execution of a model must start from the same
    /// time, or loom explores a different program each time.
    pub fn rewind() {
        NOW.with(|now| now.set(0));
    }
}

pub(crate) use source::now;
#[cfg(loom)]
pub use source::{advance, rewind};

/// Converts a duration to whole milliseconds, saturating.
pub(crate) const fn millis(d: Duration) -> Millis {
    let ms = d.as_millis();
    if ms > TIME_MASK as u128 {
        TIME_MASK
    } else {
        ms as u64
    }
}

/// When the current open period or half-open round began, tagged with the low bits of the
/// generation it belongs to.
///
/// The state word and the stamp are two atomics; a transition's winner publishes the word first and
/// the stamp second. A reader that sees a generation the stamp does not carry yet knows the period
/// has only just begun, and publishes it as starting now, which is never early (see
/// `Cell::started`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp(u64);

impl Stamp {
    pub(crate) const UNSET: Stamp = Stamp(u64::MAX);

    pub(crate) fn new(generation: u32, at: Millis) -> Stamp {
        Stamp((u64::from(generation) << TIME_BITS) | (at & TIME_MASK))
    }

    pub(crate) const fn from_bits(bits: u64) -> Stamp {
        Stamp(bits)
    }

    pub(crate) const fn bits(self) -> u64 {
        self.0
    }

    /// Whether this stamp belongs to a generation after `generation`. Generations are compared by
    /// their low bits, wrapping: a stamp up to half the tag space (2^19 transitions) ahead is newer.
    pub(crate) fn is_newer_than(self, generation: u32) -> bool {
        if self == Stamp::UNSET {
            return false;
        }
        let tag = self.0 >> TIME_BITS;
        let ahead = tag.wrapping_sub(u64::from(generation)) & TAG_MASK;
        ahead != 0 && ahead < TAG_MASK.div_ceil(2)
    }

    /// The start time, if this stamp belongs to `generation`.
    pub(crate) fn at(self, generation: u32) -> Option<Millis> {
        let tag = self.0 >> TIME_BITS;
        let want = u64::from(generation) & TAG_MASK;
        (self != Stamp::UNSET && tag == want).then_some(self.0 & TIME_MASK)
    }
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if *self == Stamp::UNSET {
            return f.write_str("Stamp(unset)");
        }
        f.debug_struct("Stamp")
            .field("generation_low_bits", &(self.0 >> TIME_BITS))
            .field("at_ms", &(self.0 & TIME_MASK))
            .finish()
    }
}

/// `start * 2^n`, capped at `cap`, for any `n`.
pub(crate) const fn double_capped(start: Duration, cap: Duration, n: u32) -> Duration {
    let mut d = start;
    let mut i = 0;
    while i < n {
        if d.as_nanos() >= cap.as_nanos() {
            return cap;
        }
        d = d.saturating_mul(2);
        i += 1;
    }
    if d.as_nanos() > cap.as_nanos() {
        cap
    } else {
        d
    }
}
