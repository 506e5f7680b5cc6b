//! Why a breaker changed state: part of every transition event, and of the state machine itself,
//! so it lives apart from the event bus (which the loom build leaves out).

use std::fmt;

/// Why a breaker changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Closed -> Open: `threshold` failures in a row.
    ConsecutiveFailures {
        /// The failures in a row that tripped it.
        failures: u32,
    },
    /// Closed -> Open: the failure rate of the window reached `failure_rate`.
    FailureRate {
        /// Failures in the window.
        failures: u32,
        /// Outcomes in the window.
        calls: u32,
    },
    /// Closed -> Open: the slow-call rate of the window reached `slow_rate`.
    SlowCallRate {
        /// Slow calls in the window.
        slow: u32,
        /// Outcomes in the window.
        calls: u32,
    },
    /// Open -> HalfOpen: the open period ended.
    ResetElapsed,
    /// HalfOpen -> Open: a probe failed.
    ProbeFailed,
    /// HalfOpen -> Closed: `probes` probes succeeded.
    ProbesSucceeded,
    /// HalfOpen -> HalfOpen: a round reached no decision within one open period, and a new round
    /// began (R6).
    ProbeRoundExpired,
    /// `force_open` was called.
    ForcedOpen,
    /// `disable` was called.
    Disabled,
    /// `reset` was called.
    Reset,
    /// [`Registry::restore`](crate::Registry::restore) brought back a saved state.
    Restored,
}

impl Reason {
    /// A short snake_case name for logs and tables, such as `consecutive_failures`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Reason::ConsecutiveFailures { .. } => "consecutive_failures",
            Reason::FailureRate { .. } => "failure_rate",
            Reason::SlowCallRate { .. } => "slow_call_rate",
            Reason::ResetElapsed => "reset_elapsed",
            Reason::ProbeFailed => "probe_failed",
            Reason::ProbesSucceeded => "probes_succeeded",
            Reason::ProbeRoundExpired => "probe_round_expired",
            Reason::ForcedOpen => "forced_open",
            Reason::Disabled => "disabled",
            Reason::Reset => "reset",
            Reason::Restored => "restored",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::ConsecutiveFailures { failures } => write!(f, "{failures} failures in a row"),
            Reason::FailureRate { failures, calls } => {
                write!(f, "{failures} of the last {calls} calls failed")
            }
            Reason::SlowCallRate { slow, calls } => {
                write!(f, "{slow} of the last {calls} calls were slow")
            }
            Reason::ResetElapsed => f.write_str("open period elapsed"),
            Reason::ProbeFailed => f.write_str("a probe failed"),
            Reason::ProbesSucceeded => f.write_str("probes succeeded"),
            Reason::ProbeRoundExpired => f.write_str("probe round expired undecided"),
            Reason::ForcedOpen => f.write_str("forced open"),
            Reason::Disabled => f.write_str("disabled"),
            Reason::Reset => f.write_str("reset"),
            Reason::Restored => f.write_str("restored from a snapshot"),
        }
    }
}
