//! The breaker's state, public and packed.

use std::fmt;

/// Where a breaker stands.
///
/// ```
/// use breaker_core::{Breaker, Config, State};
///
/// static DB: Breaker = Breaker::new(Config::new("db"));
/// assert_eq!(DB.state(), State::Closed);
/// DB.force_open();
/// assert_eq!(DB.state(), State::ForcedOpen);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum State {
    /// Calls pass; outcomes are counted by the trip policy.
    Closed,
    /// Calls are rejected until the open period ends.
    Open,
    /// A few trial calls (`probes`) are admitted to decide between closing and opening again.
    HalfOpen,
    /// Opened by hand with [`Breaker::force_open`](crate::Breaker::force_open); stays open until
    /// [`Breaker::reset`](crate::Breaker::reset).
    ForcedOpen,
    /// Switched off by hand with [`Breaker::disable`](crate::Breaker::disable): every call passes and
    /// nothing opens it until [`Breaker::reset`](crate::Breaker::reset).
    Disabled,
}

impl State {
    /// The lowercase name used in tables, events and logs: `closed`, `open`, `half_open`,
    /// `forced_open`, `disabled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::Disabled => "disabled",
        }
    }

    const fn tag(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
        }
    }

    const fn from_tag(tag: u64) -> State {
        match tag {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            _ => State::Disabled,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

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

/// The largest `probes` a breaker accepts: half-open counts are 10-bit fields of [`Word`].
pub(crate) const MAX_PROBES: u32 = COUNT_MASK as u32;
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

/// Whether generation `a` came after `b`, counting in wrapping 32-bit arithmetic: a generation up
/// to 2^31 transitions ahead is newer.
pub(crate) const fn is_newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
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
