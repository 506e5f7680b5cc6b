//! The outcomes a failure-rate policy judges: the last N, or those of the last T.
//!
//! A window lives behind a `Mutex` in its breaker. Sliding a count window means replacing the oldest
//! outcome and adjusting the failure count in one step, which no single atomic can express; the
//! lock is held for a few dozen instructions, never across the user's call, and only breakers with a
//! `failure_rate` take it (the consecutive policy is lock-free). Measured in `benches/hot_path.rs`
//! (one run, see `benches/RESULTS.md`): a closed success through a count window costs 15.3 ns
//! against 2.7 ns for the consecutive policy on one thread, about what recloser's lock-free ring
//! costs (15.9 ns); on two threads hammering one breaker the lock is contended and the count window
//! slows 10x, as recloser's ring does (12x). A time window adds a clock read per outcome (55.6 ns).
//! A lock-free ring that slides and counts in one step is the next step if rate breakers on hot,
//! shared paths show up in profiles.

use std::time::Duration;

use crate::clock::{self, Millis};
use crate::config::Window;
use crate::generation::is_newer;

/// A time window of T is judged in buckets of `ceil(T / BUCKETS)` milliseconds: it holds exactly
/// the outcomes of the last T, give or take less than one bucket (an outcome may stay up to one
/// bucket longer than T, never shorter).
pub(crate) const BUCKETS: u64 = 20;
/// Buckets kept: a window of T covers at most `BUCKETS + 1` buckets, the oldest in part.
const RING: usize = BUCKETS as usize + 1;

/// The window's counts after recording an outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) calls: u32,
    pub(crate) failures: u32,
}

impl Tally {
    /// Whether a failure rate of `percent` is reached, once `min_calls` outcomes are in.
    pub(crate) fn trips(self, percent: u32, min_calls: u32) -> bool {
        self.calls >= min_calls
            && u64::from(self.failures) * 100 >= u64::from(percent) * u64::from(self.calls)
    }
}

/// One breaker's rate window, tagged with the closed generation its outcomes belong to: an outcome
/// of a newer generation empties it first, so a close starts from nothing without the closing
/// thread having to take this lock; an outcome of an older generation is late and leaves it alone
/// (R5).
#[derive(Debug)]
pub(crate) struct RateWindow {
    generation: u32,
    outcomes: Outcomes,
}

// A window is built once per breaker, inside a `static` at compile time, where nothing can be boxed;
// the 300-odd bytes of a time window are the price of no allocation on its path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Outcomes {
    Count(CountRing),
    Time(TimeBuckets),
}

impl RateWindow {
    pub(crate) const fn new(window: Window) -> RateWindow {
        let outcomes = match window {
            Window::Count(capacity) => Outcomes::Count(CountRing {
                bits: Vec::new(),
                capacity,
                next: 0,
                len: 0,
                failures: 0,
            }),
            Window::Time(span) => Outcomes::Time(TimeBuckets::new(span)),
        };
        RateWindow {
            generation: 0,
            outcomes,
        }
    }

    /// Records an outcome of `generation` at `now` and returns the counts; `None` when the window
    /// already belongs to a newer generation, and the outcome is late.
    pub(crate) fn record(&mut self, generation: u32, failure: bool, now: Millis) -> Option<Tally> {
        if is_newer(self.generation, generation) {
            return None;
        }
        if self.generation != generation {
            self.generation = generation;
            match &mut self.outcomes {
                Outcomes::Count(ring) => ring.clear(),
                Outcomes::Time(buckets) => buckets.clear(),
            }
        }
        Some(match &mut self.outcomes {
            Outcomes::Count(ring) => ring.push(failure),
            Outcomes::Time(buckets) => buckets.push(now, failure),
        })
    }

    /// The counts at `now`, if the window belongs to `generation`.
    pub(crate) fn tally(&self, generation: u32, now: Millis) -> Tally {
        if self.generation != generation {
            return Tally::default();
        }
        match &self.outcomes {
            Outcomes::Count(ring) => ring.tally(),
            Outcomes::Time(buckets) => buckets.tally(now),
        }
    }
}

/// The last `capacity` outcomes, one bit each (1 = failure), in a ring.
#[derive(Debug)]
struct CountRing {
    /// Allocated on the first outcome and kept: no allocation per call.
    bits: Vec<u64>,
    capacity: u32,
    next: u32,
    len: u32,
    failures: u32,
}

impl CountRing {
    fn push(&mut self, failure: bool) -> Tally {
        if self.bits.is_empty() {
            self.bits = vec![0; self.capacity.div_ceil(64) as usize];
        }
        let (word, bit) = ((self.next / 64) as usize, self.next % 64);
        let mask = 1u64 << bit;
        if self.len == self.capacity {
            // The slot being overwritten holds the oldest outcome: it slides out.
            if self.bits[word] & mask != 0 {
                self.failures -= 1;
            }
        } else {
            self.len += 1;
        }
        if failure {
            self.bits[word] |= mask;
            self.failures += 1;
        } else {
            self.bits[word] &= !mask;
        }
        self.next = (self.next + 1) % self.capacity;
        self.tally()
    }

    fn tally(&self) -> Tally {
        Tally {
            calls: self.len,
            failures: self.failures,
        }
    }

    fn clear(&mut self) {
        self.bits.iter_mut().for_each(|w| *w = 0);
        self.next = 0;
        self.len = 0;
        self.failures = 0;
    }
}

/// The outcomes of the last `span` milliseconds, counted per bucket of `width`.
#[derive(Debug)]
struct TimeBuckets {
    span: Millis,
    width: Millis,
    buckets: [Bucket; RING],
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Which `width`-long slice of time this bucket counts; `u64::MAX` when unused.
    epoch: u64,
    calls: u32,
    failures: u32,
}

const EMPTY: Bucket = Bucket {
    epoch: u64::MAX,
    calls: 0,
    failures: 0,
};

impl TimeBuckets {
    const fn new(span: Duration) -> TimeBuckets {
        let span = clock::millis(span);
        // `Config::build` refuses spans under `MIN_TIME_WINDOW`; the floor only keeps this total.
        let span = if span == 0 { 1 } else { span };
        TimeBuckets {
            span,
            width: span.div_ceil(BUCKETS),
            buckets: [EMPTY; RING],
        }
    }

    fn push(&mut self, now: Millis, failure: bool) -> Tally {
        let epoch = now / self.width;
        let bucket = &mut self.buckets[(epoch % RING as u64) as usize];
        if bucket.epoch != epoch {
            *bucket = Bucket {
                epoch,
                calls: 0,
                failures: 0,
            };
        }
        bucket.calls = bucket.calls.saturating_add(1);
        bucket.failures = bucket.failures.saturating_add(u32::from(failure));
        self.tally(now)
    }

    fn tally(&self, now: Millis) -> Tally {
        let current = now / self.width;
        // An outcome at `t` is in the window while `t > now - span`. The oldest bucket that can
        // hold such an outcome is the one holding `now + 1 - span`: it is counted whole, so an
        // outcome may stay up to one bucket too long, and none leaves early.
        let oldest = (now + 1).saturating_sub(self.span) / self.width;
        self.buckets
            .iter()
            .filter(|b| b.epoch != u64::MAX && b.epoch >= oldest && b.epoch <= current)
            .fold(Tally::default(), |t, b| Tally {
                calls: t.calls.saturating_add(b.calls),
                failures: t.failures.saturating_add(b.failures),
            })
    }

    fn clear(&mut self) {
        self.buckets = [EMPTY; RING];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(calls: u32, failures: u32) -> Tally {
        Tally { calls, failures }
    }

    #[test]
    fn count_ring_slides_one_outcome_at_a_time() {
        let mut w = RateWindow::new(Window::Count(3));
        assert_eq!(w.record(0, true, 0), Some(tally(1, 1)));
        assert_eq!(w.record(0, false, 0), Some(tally(2, 1)));
        assert_eq!(w.record(0, true, 0), Some(tally(3, 2)));
        // The first failure slides out.
        assert_eq!(w.record(0, false, 0), Some(tally(3, 1)));
        assert_eq!(w.record(0, false, 0), Some(tally(3, 1)));
        assert_eq!(w.record(0, false, 0), Some(tally(3, 0)));
    }

    #[test]
    fn a_new_generation_starts_empty() {
        let mut w = RateWindow::new(Window::Count(10));
        w.record(0, true, 0);
        w.record(0, true, 0);
        assert_eq!(w.tally(1, 0), Tally::default());
        assert_eq!(w.record(1, false, 0), Some(tally(1, 0)));
    }

    #[test]
    fn an_older_generation_is_late_and_changes_nothing() {
        let mut w = RateWindow::new(Window::Count(10));
        assert_eq!(w.record(4, true, 0), Some(tally(1, 1)));
        assert_eq!(w.record(2, false, 0), None);
        assert_eq!(w.tally(4, 0), tally(1, 1));
        // Wrapping: generation 1 comes after u32::MAX.
        let mut w = RateWindow::new(Window::Count(10));
        assert_eq!(w.record(1, true, 0), Some(tally(1, 1)));
        assert_eq!(w.record(u32::MAX, true, 0), None);
    }

    #[test]
    fn trips_at_or_above_the_rate() {
        assert!(!tally(4, 4).trips(50, 5));
        assert!(tally(5, 3).trips(50, 5));
        assert!(tally(4, 2).trips(50, 4));
        assert!(!tally(4, 1).trips(50, 4));
        assert!(tally(10, 10).trips(100, 10));
        assert!(!tally(10, 9).trips(100, 10));
    }

    #[test]
    fn time_buckets_evict_what_left_the_window() {
        let mut b = TimeBuckets::new(Duration::from_secs(10));
        assert_eq!(b.width, 500);
        b.push(0, true);
        b.push(9_999, false);
        assert_eq!(b.tally(9_999), tally(2, 1));
        // The outcome of 0 shares its bucket (0..500) with instants still in the span until
        // 10 498, and is gone from 10 499.
        assert_eq!(b.tally(10_498), tally(2, 1));
        assert_eq!(b.tally(10_499), tally(1, 0));
        assert_eq!(b.tally(20_000), Tally::default());
    }

    /// For every span, an outcome stays in the window for at least `span` and less than `span`
    /// plus one bucket. (Spans that are not a multiple of 20 ms used to lose outcomes up to a bucket
    /// early, and spans under 20 ms kept them for 20 ms.)
    #[test]
    fn every_span_holds_its_outcomes_for_the_span_to_within_one_bucket() {
        for span in (20u64..=1_000).chain([1_999, 2_001, 59_999, 60_000, 3_600_007]) {
            let width = span.div_ceil(BUCKETS);
            for at in [0, 1, 7, span - 1, span, 3 * span + 5, 1_000_003] {
                let mut b = TimeBuckets::new(Duration::from_millis(span));
                b.push(at, true);
                // Held through `at + span - 1`, the last instant within the span.
                for now in [at, at + span / 2, at + span - 1] {
                    assert_eq!(b.tally(now), tally(1, 1), "span {span}, at {at}, now {now}");
                }
                // Gone once more than a bucket has passed beyond the span.
                let gone = at + span - 1 + width;
                assert_eq!(
                    b.tally(gone),
                    Tally::default(),
                    "span {span}, at {at}, now {gone}"
                );
            }
        }
    }

    #[test]
    fn a_full_window_counts_every_bucket() {
        let mut b = TimeBuckets::new(Duration::from_millis(1_000));
        for t in 0..1_000 {
            b.push(t, t % 4 == 0);
        }
        assert_eq!(b.tally(999), tally(1_000, 250));
        // The first bucket (0..50 ms) is counted whole while any of it could be within the span,
        // and is gone by 1 049: 13 of its 50 outcomes were failures.
        assert_eq!(b.tally(1_048), tally(1_000, 250));
        assert_eq!(b.tally(1_049), tally(950, 237));
    }
}
