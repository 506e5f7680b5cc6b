//! The limits of every setting, defined once: the builders check them, the docs quote them.

use std::time::Duration;

/// The most attempts a call may make.
pub const MAX_ATTEMPTS: u32 = 100;

/// The largest `probes`: the half-open counts are 10-bit fields of the state word.
pub const MAX_PROBES: u32 = 1023;

/// The largest count window.
pub const MAX_COUNT_WINDOW: u32 = 1 << 20;

/// The shortest time window. A time window of T is judged in 20 buckets of `ceil(T / 20)` whole
/// milliseconds (the clock's resolution) and holds exactly the outcomes of the last T, give or
/// take less than one bucket; below 20 ms a bucket could not be a twentieth of the window.
pub const MIN_TIME_WINDOW: Duration = Duration::from_millis(20);
