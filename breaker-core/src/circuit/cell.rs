//! The state cell: the packed state word, the stamp of the current period, and the transitions
//! between states with their one announcement. Nothing outside this module writes either atomic.
//!
//! Two atomics hold what one transition changes: the [`Word`] (state, generation, half-open round)
//! and the [`Stamp`] (when the current open period or half-open round began). Every transition is
//! one compare-and-swap on the word, so it has exactly one winner (R7). Transitions are also
//! serialised by a lock, held for the swap, the stamp and the event's hand-off to subscribers and
//! nothing else: so one breaker's events leave in generation order, and the stamp of an older
//! generation can never be published after a newer one. Changes within one generation (a half-open
//! slot taken or given back, a probe success counted) take no lock, and neither does admission in
//! the closed state (R9).

use std::sync::PoisonError;

use crate::Reason;
use crate::clock::{Millis, Stamp};
use crate::state::State;

use super::word::Word;
use crate::sync::{AtomicU64, Mutex, Ordering};

pub(crate) struct Cell {
    /// The packed [`Word`].
    word: AtomicU64,
    /// The [`Stamp`] of the current open period or half-open round.
    stamp: AtomicU64,
    /// Serialises transitions (see the module docs); guards no data of its own.
    transitions: Mutex<()>,
}

/// What a transition is announced with; the breaker supplies its name.
pub(crate) struct Announcement {
    pub(crate) breaker: crate::Name,
    pub(crate) reason: Reason,
}

impl Cell {
    crate::sync::maybe_const! {
        pub(crate) fn new() -> Cell {
            Cell {
                word: AtomicU64::new(Word::INITIAL.bits()),
                stamp: AtomicU64::new(Stamp::UNSET.bits()),
                transitions: Mutex::new(()),
            }
        }
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn load(&self) -> Word {
        // Acquire pairs with the AcqRel compare-and-swap of each change, so a thread admitted in
        // generation g sees everything the winner of g wrote before publishing it.
        Word::from_bits(self.word.load(Ordering::Acquire))
    }

    /// A change within one generation (a half-open slot taken or returned, a success counted).
    pub(crate) fn cas(&self, current: Word, next: Word) -> Result<(), Word> {
        debug_assert_eq!(current.generation(), next.generation());
        // AcqRel: Acquire to see the state the current word stands for; Release so the next reader
        // of this word sees ours.
        self.word
            .compare_exchange(
                current.bits(),
                next.bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(drop)
            .map_err(Word::from_bits)
    }

    /// A transition from `current` to `next` (a newer generation), whose period began at
    /// `started`. `Err` carries the word found instead: another thread changed it first.
    ///
    /// `prepare` runs under the transition lock before the swap, so it runs before any call can be
    /// admitted in `next`'s generation and never beside another transition's: the breaker empties
    /// what the new period will count there.
    pub(crate) fn transition(
        &self,
        current: Word,
        next: Word,
        started: Millis,
        announcement: Announcement,
        prepare: impl FnOnce(),
    ) -> Result<(), Word> {
        debug_assert_ne!(current.generation(), next.generation());
        let guard = self
            .transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        prepare();
        self.word
            .compare_exchange(
                current.bits(),
                next.bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map_err(Word::from_bits)?;
        if matches!(next.state(), State::Open | State::HalfOpen) {
            self.publish(next.generation(), started);
        }
        let event = announce::event(
            announcement.breaker,
            current.state(),
            next.state(),
            announcement.reason,
            next.generation(),
        );
        announce::send(&event);
        drop(guard);
        // Logged outside the lock: a `tracing` subscriber may call back into this breaker.
        announce::trace(&event);
        Ok(())
    }

    /// When the period of `word` began. `Err(newer)` when the word has moved on, and the caller
    /// must look again.
    ///
    /// A reader can see a transition's word before its winner has published the stamp; it then
    /// publishes `now` itself (no earlier than the winner's own reading, so the period is never cut
    /// short, and the winner's earlier reading replaces it). Whatever the interleaving, the current
    /// generation has a stamp once anyone has looked, so its period ends (R6).
    pub(crate) fn started(&self, word: Word, now: Millis) -> Result<Millis, Word> {
        let stamp = Stamp::from_bits(self.stamp.load(Ordering::Acquire));
        if let Some(at) = stamp.at(word.generation()) {
            return Ok(at);
        }
        // The stamp is stored after the word's swap, so having read a newer stamp (Acquire), this
        // load sees at least the word that stamp belongs to.
        let current = self.load();
        if current != word {
            return Err(current);
        }
        Ok(self.publish(word.generation(), now))
    }

    /// Publishes `(generation, at)` unless the stamp already holds a newer generation, or the same
    /// one with an earlier start; returns the start that stands for `generation`.
    fn publish(&self, generation: u32, at: Millis) -> Millis {
        let new = Stamp::new(generation, at);
        let mut seen = Stamp::from_bits(self.stamp.load(Ordering::Acquire));
        loop {
            if let Some(earlier) = seen.at(generation)
                && earlier <= at
            {
                return earlier;
            }
            if seen.is_newer_than(generation) {
                return at;
            }
            // Release pairs with the Acquire in `started`: a reader that sees this stamp sees the
            // word it belongs to.
            match self.stamp.compare_exchange(
                seen.bits(),
                new.bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return at,
                Err(actual) => seen = Stamp::from_bits(actual),
            }
        }
    }

    /// The stamp as it is, for `Debug`.
    pub(crate) fn stamp(&self) -> Stamp {
        Stamp::from_bits(self.stamp.load(Ordering::Relaxed))
    }
}

#[cfg(not(loom))]
mod announce {
    pub(super) use crate::events::{Transition, send, trace};
    use crate::{Reason, State};

    pub(super) fn event(
        breaker: crate::Name,
        from: State,
        to: State,
        reason: Reason,
        generation: u32,
    ) -> Transition {
        Transition::new(breaker, from, to, reason, generation)
    }
}

#[cfg(loom)]
mod announce {
    //! Loom models check the state machine, not the event bus: transitions are counted instead.
    use crate::{Reason, State};

    pub(super) struct Event;

    pub(super) fn event(_: crate::Name, _: State, _: State, _: Reason, _: u32) -> Event {
        Event
    }

    pub(super) fn send(_: &Event) {}

    pub(super) fn trace(_: &Event) {}
}
