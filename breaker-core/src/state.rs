//! Where a breaker stands.

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

    pub(crate) const fn tag(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
        }
    }

    pub(crate) const fn from_tag(tag: u64) -> State {
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
