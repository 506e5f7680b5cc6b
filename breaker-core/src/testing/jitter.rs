//! Deterministic jitter: a process-wide switch that [`jitter`](crate::jitter) reads before it draws.

use std::time::Duration;

use crate::sync::{AtomicU64, Ordering};

/// What a jittered wait is: drawn as configured, or pinned to one end of its range, so that a test
/// can assert the exact time a call took.
///
/// Full jitter draws each wait between retries uniformly from `[0, backoff]`; the switch pins the
/// draw to an end of that range. A policy with `jitter = false` waits its backoff whatever the
/// switch says: it draws nothing.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Jitter {
    /// Drawn uniformly from `[0, backoff]`: what production does (the default).
    #[default]
    Random,
    /// The upper end: each jittered wait is exactly its backoff (`backoff = "100ms..2s"` waits
    /// 100 ms, then 200 ms, ...). With paused tokio time, the elapsed time of a call is then the
    /// sum of its backoffs.
    Max,
    /// The lower end: no wait at all, so retries follow each other at once (a blocking fn's test
    /// sleeps no real time).
    Min,
}

/// The switch: a [`Jitter`] as its index.
static JITTER: AtomicU64 = AtomicU64::new(0);

/// Sets what every jittered wait of the process is, from now on, until set again; [`isolate`]
/// sets it back to [`Jitter::Random`] when taken and when dropped.
///
/// It is process-wide, as the registry is: tests that set it should hold [`isolate`], so a test
/// running beside them does not wait differently from what it expects.
///
/// [`isolate`]: super::isolate
///
/// ```
/// use std::time::Duration;
/// use breaker_core::{Backoff, CallPolicy, Granularity, testing::{self, Jitter}};
///
/// let _guard = testing::isolate();
/// let policy = CallPolicy::builder()
///     .attempts(4)
///     .retry(Granularity::PerCall)
///     .backoff(Backoff::Exponential { start: Duration::from_millis(100), cap: Duration::from_secs(2) })
///     .build()?;
/// testing::set_jitter(Jitter::Max);
/// assert_eq!(policy.wait(1) + policy.wait(2) + policy.wait(3), Duration::from_millis(700));
/// testing::set_jitter(Jitter::Min);
/// assert_eq!(policy.wait(3), Duration::ZERO);
/// # Ok::<(), breaker_core::ConfigError>(())
/// ```
pub fn set_jitter(jitter: Jitter) {
    let index = match jitter {
        Jitter::Random => 0,
        Jitter::Max => 1,
        Jitter::Min => 2,
    };
    // Relaxed: a switch, not a publication; tests that depend on it set it before their calls, in
    // program order (or across a spawn, which orders it).
    JITTER.store(index, Ordering::Relaxed);
}

/// The wait a draw from `[0, max]` is pinned to, if the switch pins it.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn pinned(max: Duration) -> Option<Duration> {
    match JITTER.load(Ordering::Relaxed) {
        0 => None,
        1 => Some(max),
        _ => Some(Duration::ZERO),
    }
}
