//! The outcomes a rate policy judges: the last N, or those of the last T. Lock-free.
//!
//! A window counts one bit per outcome (a failure, for the failure rate; a slow call, for the
//! slow-call rate) and belongs to one closed generation: the first outcome of a newer generation
//! empties it, and an outcome of an older one is late and changes nothing (R5). A count window
//! records without a lock, so rate breakers on a hot path shared by many threads do not queue on
//! one another; its counts are exact once no record is in flight (at quiescence), and a record in
//! flight can only make a concurrent reading lag behind it, never count an outcome twice. A time
//! window records without a lock too (see [`TimeWindow`]).
//!
//! Generations are kept as their low [`TAG_BITS`] bits in the packed words below and compared
//! wrapping, like the stamp's.

use std::time::Duration;

use super::Recorded;
use crate::clock::{self, Millis};
use crate::config::Window;
use crate::sync::{AtomicU64, Ordering};

/// The counts of a window: outcomes, and how many of them had the bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) calls: u32,
    pub(crate) marked: u32,
}

impl Tally {
    /// Whether a rate of `percent` is reached, once `min_calls` outcomes are in.
    pub(crate) fn trips(self, percent: u32, min_calls: u32) -> bool {
        self.calls >= min_calls
            && u64::from(self.marked) * 100 >= u64::from(percent) * u64::from(self.calls)
    }
}

/// Bits of a generation a window keeps.
const TAG_BITS: u32 = 20;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;

fn tag(generation: u32) -> u64 {
    u64::from(generation) & TAG_MASK
}

/// Whether tag `a` is a later generation than tag `b`, wrapping.
fn tag_is_newer(a: u64, b: u64) -> bool {
    let ahead = a.wrapping_sub(b) & TAG_MASK;
    ahead != 0 && ahead < (1 << (TAG_BITS - 1))
}

/// One rate policy's window.
// Built inside a `static` at compile time, where nothing can be boxed: the 350-odd bytes of a time
// window are the price of no allocation on its path.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum RateWindow {
    Count(CountWindow),
    Time(TimeWindow),
}

impl RateWindow {
    crate::sync::maybe_const! {
        pub(crate) fn new(window: Window) -> RateWindow {
            match window {
                Window::Count(capacity) => RateWindow::Count(CountWindow::new(capacity)),
                Window::Time(span) => RateWindow::Time(TimeWindow::new(span)),
            }
        }
    }

    /// Empties what the closed period of `generation` will count, before it begins.
    pub(crate) fn begin(&self, generation: u32) {
        if let RateWindow::Time(w) = self {
            w.begin(generation);
        }
    }

    /// Records an outcome of `generation` at `now`, and returns the counts to judge: `None` when
    /// the outcome cannot have brought the rate to its threshold (a time window skips the tally
    /// then), `Late` when the window already belongs to a newer generation.
    pub(crate) fn record(&self, generation: u32, marked: bool, now: Millis) -> Recorded<Tally> {
        match self {
            RateWindow::Count(w) => match w.record(generation, marked) {
                Some(tally) => Recorded::Counted(Some(tally)),
                None => Recorded::Late,
            },
            RateWindow::Time(w) => match w.record(generation, marked, now) {
                Some(tally) => Recorded::Counted(tally),
                None => Recorded::Late,
            },
        }
    }

    /// The counts at `now`, if the window belongs to `generation`.
    pub(crate) fn tally(&self, generation: u32, now: Millis) -> Tally {
        match self {
            RateWindow::Count(w) => w.tally(generation),
            RateWindow::Time(w) => w.tally(generation, now),
        }
    }
}

// ---- the last N ----

/// The last `capacity` outcomes, one slot each in a ring, and their counts in one word.
///
/// A record takes a sequence number, writes its slot unless a later sequence number already has
/// it (or an earlier outcome of the same kind, which it would replace with no change to the
/// counts), and adds the difference it made to the counts. Every change of a slot from an outcome of
/// this generation to another, or from anything else to one, is followed by exactly that change of
/// the counts, so once no record is in flight the counts are those of the slots: the last N
/// outcomes by sequence number.
#[derive(Debug)]
pub(crate) struct CountWindow {
    capacity: u32,
    /// `Counts`: the generation tag, and the outcomes and marks of that generation in the ring.
    counts: AtomicU64,
    /// The next sequence number.
    cursor: AtomicU64,
    slots: Slots,
}

/// A slot: the generation tag, the sequence number, the mark, and whether it holds anything.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot(u64);

const SEQ_BITS: u32 = 64 - TAG_BITS - 2;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;

impl Slot {
    const EMPTY: Slot = Slot(0);

    fn new(tag: u64, seq: u64, marked: bool) -> Slot {
        Slot((tag << (SEQ_BITS + 2)) | ((seq & SEQ_MASK) << 2) | (u64::from(marked) << 1) | 1)
    }
    fn occupied(self) -> bool {
        self.0 & 1 != 0
    }
    fn marked(self) -> bool {
        self.0 & 2 != 0
    }
    fn seq(self) -> u64 {
        (self.0 >> 2) & SEQ_MASK
    }
    fn tag(self) -> u64 {
        self.0 >> (SEQ_BITS + 2)
    }
}

/// Whether sequence number `a` came after `b`, wrapping.
fn seq_is_newer(a: u64, b: u64) -> bool {
    let ahead = a.wrapping_sub(b) & SEQ_MASK;
    ahead != 0 && ahead < (1 << (SEQ_BITS - 1))
}

/// The counts word: generation tag (20 bits), outcomes (22 bits), marks (22 bits). A count window
/// holds at most `MAX_COUNT_WINDOW` (2^20) outcomes, so neither count can overflow.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Counts(u64);

const COUNT_BITS: u32 = 22;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

impl Counts {
    fn empty(tag: u64) -> Counts {
        Counts(tag << (2 * COUNT_BITS))
    }
    fn tag(self) -> u64 {
        self.0 >> (2 * COUNT_BITS)
    }
    fn tally(self) -> Tally {
        Tally {
            calls: ((self.0 >> COUNT_BITS) & COUNT_MASK) as u32,
            marked: (self.0 & COUNT_MASK) as u32,
        }
    }
    fn add(self, calls: i64, marked: i64) -> Counts {
        let t = self.tally();
        let calls = (i64::from(t.calls) + calls) as u64 & COUNT_MASK;
        let marked = (i64::from(t.marked) + marked) as u64 & COUNT_MASK;
        Counts((self.tag() << (2 * COUNT_BITS)) | (calls << COUNT_BITS) | marked)
    }
}

impl CountWindow {
    crate::sync::maybe_const! {
        fn new(capacity: u32) -> CountWindow {
            CountWindow {
                capacity,
                counts: AtomicU64::new(0),
                cursor: AtomicU64::new(0),
                slots: Slots::new(capacity),
            }
        }
    }

    fn record(&self, generation: u32, marked: bool) -> Option<Tally> {
        let tag = tag(generation);
        let counts = self.adopt(tag)?;
        if !marked && counts.marked == 0 && counts.calls == self.capacity {
            // A full window without a mark: an unmarked outcome replaces an unmarked one, whichever
            // is oldest, and the counts stay as they are. Nothing is written, so a healthy service's
            // successes read one shared word and write none (a later marked outcome takes the slot
            // the cursor points at: every slot holds an unmarked outcome, so which one it replaces
            // makes no difference to any count, now or as outcomes slide out).
            return Some(counts);
        }
        let slots = self.slots.get(self.capacity);
        // Relaxed: the sequence number only orders records among themselves, through the slots.
        let seq = self.cursor.fetch_add(1, Ordering::Relaxed) & SEQ_MASK;
        let slot = &slots[(seq % u64::from(self.capacity)) as usize];
        let new = Slot::new(tag, seq, marked);
        let mut old = Slot(slot.load(Ordering::Acquire));
        loop {
            if old.occupied() {
                if tag_is_newer(old.tag(), tag) {
                    // The window has moved on to a newer generation.
                    return None;
                }
                if old.tag() == tag && (seq_is_newer(old.seq(), seq) || old.marked() == marked) {
                    // A later outcome already took this slot, so this one slid out before it was
                    // in; or an earlier one of the same kind holds it, and replacing it would
                    // change no count (the common case: a success where a success slides out).
                    // Either way the counts stand, and the slot is left as it is: a later record
                    // in it compares with a mark that is the same as this one's.
                    return Some(Counts(self.counts.load(Ordering::Acquire)).tally());
                }
            }
            // AcqRel: the slot's history is a chain of swaps; each sees the one before.
            match slot.compare_exchange_weak(old.0, new.0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => old = Slot(actual),
            }
        }
        let (calls, marks) = if old.occupied() && old.tag() == tag {
            (0, i64::from(marked) - i64::from(old.marked()))
        } else {
            (1, i64::from(marked))
        };
        let mut counts = Counts(self.counts.load(Ordering::Acquire));
        loop {
            if counts.tag() != tag {
                // A newer generation emptied the window since: this outcome is late, and its slot
                // counts for nothing in the new one.
                return None;
            }
            let next = counts.add(calls, marks);
            match self.counts.compare_exchange_weak(
                counts.0,
                next.0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next.tally()),
                Err(actual) => counts = Counts(actual),
            }
        }
    }

    /// Makes the counts belong to `tag`, and returns them: empties them for a newer generation,
    /// `None` when they already belong to a newer one.
    fn adopt(&self, tag: u64) -> Option<Tally> {
        let mut counts = Counts(self.counts.load(Ordering::Acquire));
        loop {
            if counts.tag() == tag {
                return Some(counts.tally());
            }
            if tag_is_newer(counts.tag(), tag) {
                return None;
            }
            // The slots of older generations count as empty from here on: nothing to clear.
            match self.counts.compare_exchange_weak(
                counts.0,
                Counts::empty(tag).0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Tally::default()),
                Err(actual) => counts = Counts(actual),
            }
        }
    }

    fn tally(&self, generation: u32) -> Tally {
        let counts = Counts(self.counts.load(Ordering::Acquire));
        if counts.tag() == tag(generation) {
            counts.tally()
        } else {
            Tally::default()
        }
    }
}

/// The ring's slots. A breaker lives in a `static` built at compile time, where nothing can be
/// allocated: the ring is allocated by the first outcome recorded, once, and kept.
#[cfg(not(loom))]
#[derive(Debug)]
struct Slots(std::sync::OnceLock<Box<[AtomicU64]>>);

#[cfg(not(loom))]
impl Slots {
    const fn new(_capacity: u32) -> Slots {
        Slots(std::sync::OnceLock::new())
    }

    fn get(&self, capacity: u32) -> &[AtomicU64] {
        self.0.get_or_init(|| {
            (0..capacity)
                .map(|_| AtomicU64::new(Slot::EMPTY.0))
                .collect()
        })
    }
}

/// Under loom the ring is built with the breaker: loom's atomics have no `const` constructor.
#[cfg(loom)]
#[derive(Debug)]
struct Slots(Box<[AtomicU64]>);

#[cfg(loom)]
impl Slots {
    fn new(capacity: u32) -> Slots {
        Slots(
            (0..capacity)
                .map(|_| AtomicU64::new(Slot::EMPTY.0))
                .collect(),
        )
    }

    fn get(&self, _capacity: u32) -> &[AtomicU64] {
        &self.0
    }
}

// ---- the last T ----

/// A time window of T is judged in buckets of `ceil(T / BUCKETS)` milliseconds: it holds exactly
/// the outcomes of the last T, give or take less than one bucket (an outcome may stay up to one
/// bucket longer than T, never shorter).
pub(crate) const BUCKETS: u64 = 20;
/// Buckets kept: a window of T covers at most `BUCKETS + 1` buckets, the oldest in part.
const RING: usize = BUCKETS as usize + 1;

/// The outcomes of the last `span` milliseconds, counted per bucket of `width`, without a lock.
///
/// Two sets of buckets, one for even closed generations and one for odd ones: a closed period
/// counts in its own set, which [`begin`](TimeWindow::begin) empties (under the breaker's
/// transition lock, before any of its calls is admitted) while the period before it goes on
/// counting in the other set undisturbed. Each bucket is one word: the low bits of its generation
/// and of its epoch (which `width`-long slice of time it counts), its outcomes and its marks. A
/// record adds to its bucket if the bucket counts its epoch, restarts it if the bucket counts an
/// older one, and finds its outcome late if the bucket belongs to another generation: an outcome
/// of a generation two periods back, whose set has been emptied for a newer one, never lands in it.
///
/// As time passes, the first record of each new epoch empties the buckets whose epochs have left
/// the window, so every bucket holds one of the last `RING` epochs before the newest recorded
/// (`newest`), and a bucket's epoch is read from its low bits relative to that. At quiescence the
/// buckets of the current set hold exactly the current period's outcomes of those epochs.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    span: Millis,
    width: Millis,
    sets: [Set; 2],
}

#[derive(Debug)]
struct Set {
    /// The newest epoch a record of this set has seen.
    newest: AtomicU64,
    /// One more than the newest epoch a marked outcome of this set was recorded in; 0 for none.
    /// An unmarked outcome can only bring the rate to its threshold (by completing `min_calls`)
    /// while a mark is in the window, so when this one has left it, a success skips the tally.
    marked: AtomicU64,
    buckets: [AtomicU64; RING],
}

const GEN_BITS: u32 = 8;
const EPOCH_BITS: u32 = 8;
const BUCKET_COUNT_BITS: u32 = 24;
const BUCKET_COUNT_MAX: u64 = (1 << BUCKET_COUNT_BITS) - 1;
const _: () = assert!(RING < 1 << EPOCH_BITS);

/// A bucket word: generation low bits (8), epoch low bits (8), outcomes (24), marks (24). Counts
/// saturate at 2^24 - 1 per bucket (16 million outcomes in one twentieth of the window).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Bucket(u64);

impl Bucket {
    fn new(generation: u32, epoch: u64, calls: u64, marked: u64) -> Bucket {
        let g = u64::from(generation) & ((1 << GEN_BITS) - 1);
        let e = epoch & ((1 << EPOCH_BITS) - 1);
        Bucket(
            (g << (EPOCH_BITS + 2 * BUCKET_COUNT_BITS))
                | (e << (2 * BUCKET_COUNT_BITS))
                | (calls.min(BUCKET_COUNT_MAX) << BUCKET_COUNT_BITS)
                | marked.min(BUCKET_COUNT_MAX),
        )
    }
    fn generation_bits(self) -> u64 {
        self.0 >> (EPOCH_BITS + 2 * BUCKET_COUNT_BITS)
    }
    fn belongs_to(self, generation: u32) -> bool {
        self.generation_bits() == u64::from(generation) & ((1 << GEN_BITS) - 1)
    }
    fn epoch_bits(self) -> u64 {
        (self.0 >> (2 * BUCKET_COUNT_BITS)) & ((1 << EPOCH_BITS) - 1)
    }
    fn counts(self, epoch: u64) -> bool {
        self.epoch_bits() == epoch & ((1 << EPOCH_BITS) - 1)
    }
    fn calls(self) -> u64 {
        (self.0 >> BUCKET_COUNT_BITS) & BUCKET_COUNT_MAX
    }
    fn marked(self) -> u64 {
        self.0 & BUCKET_COUNT_MAX
    }
    /// The full epoch this bucket counts, given that it is one of the `RING` epochs up to `newest`.
    fn epoch(self, newest: u64) -> u64 {
        newest - (newest.wrapping_sub(self.epoch_bits()) & ((1 << EPOCH_BITS) - 1))
    }
}

impl Set {
    crate::sync::maybe_const! {
        fn new(generation: u32) -> Set {
            Set {
                newest: AtomicU64::new(0),
                marked: AtomicU64::new(0),
                buckets: buckets(generation),
            }
        }
    }
}

impl TimeWindow {
    crate::sync::maybe_const! {
        fn new(span: Duration) -> TimeWindow {
            let span = clock::millis(span);
            // `Config::build` refuses spans under `MIN_TIME_WINDOW`; the floor only keeps this
            // total.
            let span = if span == 0 { 1 } else { span };
            TimeWindow {
                span,
                width: span.div_ceil(BUCKETS),
                // A breaker starts closed in generation 0; the odd set waits for generation 1.
                sets: [Set::new(0), Set::new(1)],
            }
        }
    }

    fn set(&self, generation: u32) -> &Set {
        &self.sets[(generation & 1) as usize]
    }

    fn begin(&self, generation: u32) {
        let set = self.set(generation);
        // Each bucket is replaced by a read-modify-write that reads it first, as every record does,
        // so its history stays one chain. Release: a call admitted in `generation` (after the
        // transition's swap) sees the empty buckets.
        let empty = Bucket::new(generation, 0, 0, 0).0;
        for atomic in set.buckets.iter().chain([&set.newest, &set.marked]) {
            let value = if set
                .buckets
                .as_ptr_range()
                .contains(&std::ptr::from_ref(atomic))
            {
                empty
            } else {
                0
            };
            let mut seen = atomic.load(Ordering::Acquire);
            while seen != value {
                match atomic.compare_exchange_weak(seen, value, Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => break,
                    Err(actual) => seen = actual,
                }
            }
        }
    }

    /// Records an outcome; `Some(None)` when it was counted and cannot have brought the rate to its
    /// threshold, so there is nothing to judge.
    fn record(&self, generation: u32, marked: bool, now: Millis) -> Option<Option<Tally>> {
        let set = self.set(generation);
        let (epoch, newest) = self.epoch(set, generation, now);
        if marked {
            // Before the outcome is in its bucket: an unmarked record that sees the outcome there
            // (the bucket's chain orders them) sees this too, and judges the rate.
            set.marked.fetch_max(epoch + 1, Ordering::AcqRel);
        }
        if epoch + RING as u64 <= newest {
            // Read on a clock a whole ring behind the newest record: out of the window already.
            return Some(self.judge(set, generation, marked, epoch, now));
        }
        let bucket = &set.buckets[(epoch % RING as u64) as usize];
        let mut b = Bucket(bucket.load(Ordering::Acquire));
        loop {
            if !b.belongs_to(generation) {
                // The set was emptied for a newer generation: this outcome's period is over.
                return None;
            }
            let next = if b.counts(epoch) {
                Bucket::new(
                    generation,
                    epoch,
                    b.calls() + 1,
                    b.marked() + u64::from(marked),
                )
            } else if b.calls() == 0 || b.epoch(newest) < epoch {
                // The bucket counts an older epoch: this outcome restarts it.
                Bucket::new(generation, epoch, 1, u64::from(marked))
            } else {
                // It counts a newer one: this outcome, read on a clock a ring behind, is out of
                // the window already, and leaves it alone.
                break;
            };
            // AcqRel: a reader that sees the count sees the bucket it was added to.
            match bucket.compare_exchange_weak(b.0, next.0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(actual) => b = Bucket(actual),
            }
        }
        Some(self.judge(set, generation, marked, epoch, now))
    }

    /// The epoch of `now`, and the set's newest after this record moved it up. A reading in the
    /// newest epoch (the common case) is placed with a multiplication rather than a division.
    #[cfg_attr(not(debug_assertions), inline)]
    fn epoch(&self, set: &Set, generation: u32, now: Millis) -> (u64, u64) {
        let newest = set.newest.load(Ordering::Acquire);
        let start = newest.saturating_mul(self.width);
        if now >= start && now - start < self.width {
            return (newest, newest);
        }
        let epoch = now / self.width;
        (epoch, self.advance(set, generation, newest, epoch))
    }

    /// The tally to judge after a record in `epoch`, or `None` for an unmarked outcome when no
    /// marked one can be in the window: a success then only lowers the rate. The test is
    /// conservative (a mark up to `RING` epochs back counts as in the window), so it never skips a
    /// tally that could trip.
    #[cfg_attr(not(debug_assertions), inline)]
    fn judge(
        &self,
        set: &Set,
        generation: u32,
        marked: bool,
        epoch: u64,
        now: Millis,
    ) -> Option<Tally> {
        if !marked {
            let newest_mark = set.marked.load(Ordering::Acquire);
            if newest_mark == 0 || newest_mark + RING as u64 <= epoch + 1 {
                return None;
            }
        }
        Some(self.tally(generation, now))
    }

    /// Moves the set's newest epoch up to `epoch`, and returns the newest; the thread that moves
    /// it empties the buckets of the epochs that time has skipped, so none of them is read as
    /// recent.
    fn advance(&self, set: &Set, generation: u32, newest: u64, epoch: u64) -> u64 {
        if epoch <= newest {
            return newest;
        }
        if let Err(now_newest) =
            set.newest
                .compare_exchange(newest, epoch, Ordering::AcqRel, Ordering::Acquire)
        {
            return now_newest.max(epoch);
        }
        let skipped = (epoch - newest).min(RING as u64);
        for e in epoch + 1 - skipped..=epoch {
            let bucket = &set.buckets[(e % RING as u64) as usize];
            let b = Bucket(bucket.load(Ordering::Acquire));
            if b.belongs_to(generation) && !b.counts(e) {
                // Only a stale bucket of this generation, and only if nobody has restarted it
                // meanwhile: a record of `e` already in it stays.
                let _ = bucket.compare_exchange(
                    b.0,
                    Bucket::new(generation, e, 0, 0).0,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
        }
        epoch
    }

    fn tally(&self, generation: u32, now: Millis) -> Tally {
        let set = self.set(generation);
        let current = now / self.width;
        // Every bucket holds one of the `RING` epochs up to the newest recorded, whatever time it
        // is now: its epoch is read relative to that.
        let newest = set.newest.load(Ordering::Acquire);
        // An outcome at `t` is in the window while `t > now - span`. The oldest bucket that can
        // hold such an outcome is the one holding `now + 1 - span`: it is counted whole, so an
        // outcome may stay up to one bucket too long, and none leaves early.
        let oldest = (now + 1).saturating_sub(self.span) / self.width;
        set.buckets
            .iter()
            .map(|b| Bucket(b.load(Ordering::Acquire)))
            .filter(|b| b.belongs_to(generation) && b.calls() > 0)
            .filter(|b| (oldest..=current).contains(&b.epoch(newest)))
            .fold(Tally::default(), |t, b| Tally {
                calls: t.calls.saturating_add(b.calls() as u32),
                marked: t.marked.saturating_add(b.marked() as u32),
            })
    }

    #[cfg(test)]
    fn width(&self) -> Millis {
        self.width
    }
}

/// An empty bucket of an odd generation (of an even one, 0).
const ODD_EMPTY: u64 = 1 << (EPOCH_BITS + 2 * BUCKET_COUNT_BITS);

#[cfg(not(loom))]
const fn buckets(generation: u32) -> [AtomicU64; RING] {
    if generation & 1 == 0 {
        [const { AtomicU64::new(0) }; RING]
    } else {
        [const { AtomicU64::new(ODD_EMPTY) }; RING]
    }
}

#[cfg(loom)]
fn buckets(generation: u32) -> [AtomicU64; RING] {
    let empty = if generation & 1 == 0 { 0 } else { ODD_EMPTY };
    let buckets: [AtomicU64; RING] = std::array::from_fn(|_| AtomicU64::new(empty));
    for bucket in &buckets {
        bucket.load(Ordering::Relaxed);
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(calls: u32, marked: u32) -> Tally {
        Tally { calls, marked }
    }

    /// Counted, with these counts to judge.
    fn judged(calls: u32, marked: u32) -> Recorded<Tally> {
        Recorded::Counted(Some(tally(calls, marked)))
    }

    #[test]
    fn count_window_slides_one_outcome_at_a_time() {
        let w = RateWindow::new(Window::Count(3));
        assert_eq!(w.record(0, true, 0), judged(1, 1));
        assert_eq!(w.record(0, false, 0), judged(2, 1));
        assert_eq!(w.record(0, true, 0), judged(3, 2));
        // The first failure slides out.
        assert_eq!(w.record(0, false, 0), judged(3, 1));
        assert_eq!(w.record(0, false, 0), judged(3, 1));
        assert_eq!(w.record(0, false, 0), judged(3, 0));
    }

    #[test]
    fn a_new_generation_starts_empty() {
        for window in [Window::Count(10), Window::Time(Duration::from_secs(10))] {
            let w = RateWindow::new(window);
            w.record(0, true, 0);
            w.record(0, true, 0);
            // Generation 1 is not closed (it opened), 2 is: the breaker says so first.
            assert_eq!(w.tally(2, 0), Tally::default());
            w.begin(2);
            assert_ne!(w.record(2, false, 0), Recorded::Late);
            assert_eq!(w.tally(2, 0), tally(1, 0));
        }
    }

    #[test]
    fn an_older_generation_is_late_and_changes_nothing() {
        for window in [Window::Count(10), Window::Time(Duration::from_secs(10))] {
            let w = RateWindow::new(window);
            w.begin(2);
            w.begin(4);
            assert_eq!(w.record(4, true, 0), judged(1, 1));
            assert_eq!(w.record(2, false, 0), Recorded::Late);
            assert_eq!(w.tally(4, 0), tally(1, 1));
            // Wrapping: generation 1 comes after u32::MAX.
            let w = RateWindow::new(window);
            w.begin(u32::MAX);
            w.begin(1);
            assert_eq!(w.record(1, true, 0), judged(1, 1));
            assert_eq!(w.record(u32::MAX, true, 0), Recorded::Late);
        }
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
    fn an_outcome_read_on_a_clock_a_ring_behind_leaves_the_recent_buckets_alone() {
        let w = TimeWindow::new(Duration::from_millis(1_000)); // 50 ms buckets
        w.record(0, true, 10_000);
        w.record(0, false, 10_010);
        // A thread that read the clock long ago records now: its bucket position holds a newer
        // epoch, which it must not restart.
        assert!(w.record(0, true, 10_000 - 21 * 50).is_some());
        assert_eq!(w.tally(0, 10_010), tally(2, 1));
    }

    #[test]
    fn buckets_skipped_by_a_long_silence_are_not_read_as_recent() {
        let w = TimeWindow::new(Duration::from_millis(1_000)); // 50 ms buckets, epochs mod 256
        w.record(0, true, 0);
        // 256 epochs later the first bucket's low bits match the current epoch's: read with no
        // record since, and after one.
        let later = 256 * 50 + 10;
        assert_eq!(w.tally(0, later), Tally::default());
        // No mark in the window: the success has nothing to judge.
        assert_eq!(w.record(0, false, later), Some(None));
        assert_eq!(w.tally(0, later), tally(1, 0));
    }

    #[test]
    fn a_large_count_window_counts_every_outcome() {
        let w = RateWindow::new(Window::Count(1_000));
        for i in 0..2_500u32 {
            w.record(7, i % 4 == 0, 0);
        }
        // The last 1 000 outcomes: 1 500..2 500, a quarter of them marked.
        assert_eq!(w.tally(7, 0), tally(1_000, 250));
    }

    #[test]
    fn time_buckets_evict_what_left_the_window() {
        let w = TimeWindow::new(Duration::from_secs(10));
        assert_eq!(w.width(), 500);
        w.record(0, true, 0);
        w.record(0, false, 9_999);
        assert_eq!(w.tally(0, 9_999), tally(2, 1));
        // The outcome of 0 shares its bucket (0..500) with instants still in the span until
        // 10 498, and is gone from 10 499.
        assert_eq!(w.tally(0, 10_498), tally(2, 1));
        assert_eq!(w.tally(0, 10_499), tally(1, 0));
        assert_eq!(w.tally(0, 20_000), Tally::default());
    }

    /// For every span, an outcome stays in the window for at least `span` and less than `span`
    /// plus one bucket. (Spans that are not a multiple of 20 ms used to lose outcomes up to a bucket
    /// early, and spans under 20 ms kept them for 20 ms.)
    #[test]
    fn every_span_holds_its_outcomes_for_the_span_to_within_one_bucket() {
        for span in (20u64..=1_000).chain([1_999, 2_001, 59_999, 60_000, 3_600_007]) {
            let width = span.div_ceil(BUCKETS);
            for at in [0, 1, 7, span - 1, span, 3 * span + 5, 1_000_003] {
                let w = TimeWindow::new(Duration::from_millis(span));
                w.record(0, true, at);
                // Held through `at + span - 1`, the last instant within the span.
                for now in [at, at + span / 2, at + span - 1] {
                    assert_eq!(
                        w.tally(0, now),
                        tally(1, 1),
                        "span {span}, at {at}, now {now}"
                    );
                }
                // Gone once more than a bucket has passed beyond the span.
                let gone = at + span - 1 + width;
                assert_eq!(
                    w.tally(0, gone),
                    Tally::default(),
                    "span {span}, at {at}, now {gone}"
                );
            }
        }
    }

    #[test]
    fn a_full_window_counts_every_bucket() {
        let w = TimeWindow::new(Duration::from_millis(1_000));
        for t in 0..1_000 {
            w.record(0, t % 4 == 0, t);
        }
        assert_eq!(w.tally(0, 999), tally(1_000, 250));
        // The first bucket (0..50 ms) is counted whole while any of it could be within the span,
        // and is gone by 1 049: 13 of its 50 outcomes were marked.
        assert_eq!(w.tally(0, 1_048), tally(1_000, 250));
        assert_eq!(w.tally(0, 1_049), tally(950, 237));
    }

    #[test]
    fn a_new_generation_ignores_the_buckets_before_it() {
        let w = TimeWindow::new(Duration::from_secs(10));
        w.begin(3);
        w.record(3, true, 1_000);
        w.record(3, true, 1_200);
        // Generation 5 begins in the same bucket: the earlier outcomes there are not its own.
        w.begin(5);
        assert_eq!(w.record(5, false, 1_300), Some(None));
        assert_eq!(w.record(5, true, 1_700), Some(Some(tally(2, 1))));
        assert_eq!(w.record(3, true, 1_800), None, "generation 3 is over");
    }

    #[test]
    fn a_success_is_judged_only_while_a_mark_may_be_in_the_window() {
        let w = TimeWindow::new(Duration::from_secs(1)); // 50 ms buckets
        assert_eq!(w.record(0, false, 0), Some(None));
        assert_eq!(w.record(0, true, 100), Some(Some(tally(2, 1))));
        // A success that completes `min_calls` while the mark is in: judged, with every outcome.
        assert_eq!(w.record(0, false, 200), Some(Some(tally(3, 1))));
        // The mark's epoch (2) is judged for up to `RING` epochs, past the span by one bucket.
        assert_eq!(w.record(0, false, 22 * 50), Some(Some(tally(3, 1))));
        assert_eq!(w.record(0, false, 23 * 50), Some(None));
        // A new generation starts with no mark.
        w.begin(2);
        w.record(2, false, 23 * 50);
        assert_eq!(w.record(2, false, 23 * 50 + 1), Some(None));
    }

    /// The multiplication that places a reading in the newest epoch agrees with the division.
    #[test]
    fn a_reading_lands_in_the_epoch_a_division_gives() {
        for span in [20u64, 21, 999, 1_000, 60_000] {
            let w = TimeWindow::new(Duration::from_millis(span));
            let set = w.set(0);
            for now in [
                0,
                1,
                w.width - 1,
                w.width,
                w.width + 1,
                5 * w.width - 1,
                10_000,
                9_999,
            ] {
                let (epoch, _) = w.epoch(set, 0, now);
                assert_eq!(epoch, now / w.width, "span {span}, now {now}");
            }
        }
    }
}
