//! The registry's state as data: taken before a restart, restored after it, so a service that
//! restarts in the middle of an outage does not hammer the dependency that is down.
//!
//! Open periods are carried as *remaining* time plus the wall-clock instant of the snapshot, since
//! the monotonic clock of one process means nothing to the next; on restore the wall-clock time
//! that passed in between is taken off.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Breaker, Metrics, Registry, State};

/// The format of [`Snapshot`]; [`Registry::restore`] refuses any other.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Every breaker's state and counts at one instant, from [`Registry::snapshot`].
///
/// With the `serde` feature it is `Serialize` and `Deserialize`:
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let snapshot = breaker_core::registry().snapshot();
/// let json = serde_json::to_string(&snapshot).unwrap();
/// let back: breaker_core::Snapshot = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, snapshot);
/// breaker_core::registry().restore(&back).unwrap();
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// [`SNAPSHOT_FORMAT`] of the process that took it.
    pub format: u32,
    /// When it was taken, in milliseconds since the Unix epoch.
    pub taken_at_unix_ms: u64,
    /// One entry per breaker, sorted by name.
    pub breakers: Vec<BreakerSnapshot>,
}

/// One breaker in a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BreakerSnapshot {
    /// The breaker's name.
    pub name: String,
    /// Its state.
    pub state: State,
    /// For an open breaker, how long it had left to stay open.
    pub open_remaining_ms: Option<u64>,
    /// Failed half-open rounds since its last close (the step of a `reset` range).
    pub failed_rounds: u32,
    /// Its counts (informative: [`Registry::restore`] does not restore counts).
    pub metrics: Metrics,
}

/// Why [`Registry::restore`] applied nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The snapshot was written in another format.
    IncompatibleFormat {
        /// Its format.
        found: u32,
        /// The one this version reads.
        expected: u32,
    },
    /// The snapshot names breakers this program does not declare.
    UnknownBreakers(Vec<String>),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::IncompatibleFormat { found, expected } => write!(
                f,
                "snapshot format {found} cannot be restored by this version, which reads format \
                 {expected}; nothing was restored"
            ),
            RestoreError::UnknownBreakers(names) => write!(
                f,
                "snapshot names breakers this program does not declare: {}; nothing was restored",
                names.join(", ")
            ),
        }
    }
}

impl std::error::Error for RestoreError {}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Registry {
    /// Every breaker's state, remaining open time and counts, now.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            taken_at_unix_ms: unix_ms(SystemTime::now()),
            breakers: self.iter().map(BreakerSnapshot::of).collect(),
        }
    }

    /// Brings back the open, half-open, forced-open and disabled states of a snapshot, with the
    /// open time that remained minus the wall-clock time since it was taken. A half-open breaker
    /// comes back open with its period over, so its next call is a probe; a closed one is closed.
    ///
    /// Everything is checked before anything is applied: a snapshot of another format, or one
    /// naming a breaker this program does not have, is refused whole.
    pub fn restore(&self, snapshot: &Snapshot) -> Result<(), RestoreError> {
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(RestoreError::IncompatibleFormat {
                found: snapshot.format,
                expected: SNAPSHOT_FORMAT,
            });
        }
        let unknown: Vec<String> = snapshot
            .breakers
            .iter()
            .filter(|b| self.get(&b.name).is_none())
            .map(|b| b.name.clone())
            .collect();
        if !unknown.is_empty() {
            return Err(RestoreError::UnknownBreakers(unknown));
        }
        let elapsed = Duration::from_millis(
            unix_ms(SystemTime::now()).saturating_sub(snapshot.taken_at_unix_ms),
        );
        for saved in &snapshot.breakers {
            let Some(breaker) = self.get(&saved.name) else {
                continue;
            };
            match saved.state {
                State::Closed => breaker.reset(),
                State::ForcedOpen => breaker.force_open(),
                State::Disabled => breaker.disable(),
                State::Open | State::HalfOpen => {
                    let remaining = Duration::from_millis(saved.open_remaining_ms.unwrap_or(0));
                    breaker.restore_open(remaining.saturating_sub(elapsed), saved.failed_rounds);
                }
            }
        }
        Ok(())
    }
}

impl BreakerSnapshot {
    fn of(breaker: &'static Breaker) -> BreakerSnapshot {
        let (state, failed_rounds) = breaker.state_and_failed_rounds();
        BreakerSnapshot {
            name: breaker.name().to_owned(),
            state,
            open_remaining_ms: breaker
                .remaining_open()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            failed_rounds,
            metrics: breaker.metrics(),
        }
    }
}
