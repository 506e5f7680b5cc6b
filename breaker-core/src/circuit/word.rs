//! The breaker's state word: everything one compare-and-swap changes, packed in a `u64`.

use std::fmt;

use crate::state::State;

/// Everything that must change together in one compare-and-swap, packed in the breaker's `AtomicU64`.
///
/// | bits   | field       | meaning                                                     |
/// |--------|-------------|-------------------------------------------------------------|
/// | 0..3   | state       | [`State`] tag                                               |
/// | 3..9   | step        | failed half-open rounds since the last close, saturating    |
/// | 9..19  | issued      | half-open permits handed out in this round                  |
/// | 19..29 | successes   | half-open successes recorded in this round                  |
/// | 32..64 | generation  | bumped by every transition; permits carry it (R5)           |
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word(u64);

const STATE_MASK: u64 = 0b111;
const STEP_SHIFT: u32 = 3;
const STEP_MASK: u64 = 0x3f;
const ISSUED_SHIFT: u32 = 9;
const SUCCESSES_SHIFT: u32 = 19;
const COUNT_MASK: u64 = 0x3ff;
const GENERATION_SHIFT: u32 = 32;

// `probes` must fit the half-open counts.
const _: () = assert!(crate::limits::MAX_PROBES as u64 == COUNT_MASK);
/// `step` saturates here; the open period saturates long before (2^63 periods).
const MAX_STEP: u32 = STEP_MASK as u32;

impl Word {
    pub(crate) const INITIAL: Word = Word(0);

    pub(crate) const fn from_bits(bits: u64) -> Word {
        Word(bits)
    }

    pub(crate) const fn bits(self) -> u64 {
        self.0
    }

    pub(crate) const fn state(self) -> State {
        State::from_tag(self.0 & STATE_MASK)
    }

    pub(crate) const fn step(self) -> u32 {
        ((self.0 >> STEP_SHIFT) & STEP_MASK) as u32
    }

    pub(crate) const fn issued(self) -> u32 {
        ((self.0 >> ISSUED_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) const fn successes(self) -> u32 {
        ((self.0 >> SUCCESSES_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) const fn generation(self) -> u32 {
        (self.0 >> GENERATION_SHIFT) as u32
    }

    /// The word after a transition into `state`: next generation, empty half-open round.
    pub(crate) const fn transition(self, state: State, step: u32) -> Word {
        let step = if step > MAX_STEP { MAX_STEP } else { step };
        let generation = self.generation().wrapping_add(1) as u64;
        Word((generation << GENERATION_SHIFT) | ((step as u64) << STEP_SHIFT) | state.tag())
    }

    /// Same generation, `issued` replaced.
    pub(crate) const fn with_issued(self, issued: u32) -> Word {
        Word(
            (self.0 & !(COUNT_MASK << ISSUED_SHIFT))
                | ((issued as u64 & COUNT_MASK) << ISSUED_SHIFT),
        )
    }

    /// Same generation, `successes` replaced.
    pub(crate) const fn with_successes(self, successes: u32) -> Word {
        Word(
            (self.0 & !(COUNT_MASK << SUCCESSES_SHIFT))
                | ((successes as u64 & COUNT_MASK) << SUCCESSES_SHIFT),
        )
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Word")
            .field("state", &self.state())
            .field("generation", &self.generation())
            .field("step", &self.step())
            .field("issued", &self.issued())
            .field("successes", &self.successes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let w = Word::INITIAL
            .transition(State::HalfOpen, 5)
            .with_issued(1000)
            .with_successes(7);
        assert_eq!(w.state(), State::HalfOpen);
        assert_eq!(w.step(), 5);
        assert_eq!(w.issued(), 1000);
        assert_eq!(w.successes(), 7);
        assert_eq!(w.generation(), 1);
        let w = w.transition(State::Open, 1_000);
        assert_eq!(
            (w.state(), w.step(), w.issued(), w.successes()),
            (State::Open, 63, 0, 0)
        );
        assert_eq!(w.generation(), 2);
    }

    #[test]
    fn generation_wraps() {
        let w =
            Word::from_bits(u64::from(u32::MAX) << GENERATION_SHIFT).transition(State::Closed, 0);
        assert_eq!(w.generation(), 0);
        assert_eq!(w.state(), State::Closed);
    }
}
