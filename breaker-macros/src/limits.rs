//! The limits and defaults of a breaker and of a call, defined once for the two crates that need
//! them: the attribute checks every value against them at compile time, and the runtime's builders
//! check the same values again (and fill in the defaults) at run time.
//!
//! This file is the only definition. `breaker-macros` compiles it as its `limits` module;
//! `breaker-core` compiles the same file through a symlink in its own `src/` (a `#[path]` or an
//! `include!` that leaves the package would not survive `cargo package`, which copies a symlinked
//! file's contents into the package). The proc-macro crate therefore never depends on the runtime
//! (and its tokio).
//!
//! Plain integers and `Duration`s only, so the file compiles unchanged in both crates. Its items are
//! `pub` so that the runtime can re-export the public ones (`MAX_ATTEMPTS`, `MIN_TIME_WINDOW`, ...)
//! as they are, docs included; each crate uses its own subset of the rest.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

/// The most trial calls a half-open round admits: the breaker's state word keeps the half-open
/// count in 10 bits.
pub const MAX_PROBES: u32 = (1 << 10) - 1;

/// The largest count window: its outcomes are kept one bit each.
pub const MAX_COUNT_WINDOW: u32 = 1 << 20;

/// The shortest time window. A time window of T is judged in 20 buckets of `ceil(T / 20)` whole
/// milliseconds (the clock's resolution) and holds exactly the outcomes of the last T, give or
/// take less than one bucket; below 20 ms a bucket could not be a twentieth of the window.
pub const MIN_TIME_WINDOW: Duration = Duration::from_millis(20);

/// The most attempts a call may make.
pub const MAX_ATTEMPTS: u32 = 100;

/// The largest percent: `failure_rate`, `slow_rate` and `budget` are in `1..=MAX_PERCENT`.
pub const MAX_PERCENT: u32 = 100;

/// Consecutive recorded failures that open a breaker without a failure rate.
pub const DEFAULT_THRESHOLD: u32 = 5;

/// The outcomes a rate judges when no `window` is given: the last 100.
pub const DEFAULT_WINDOW: u32 = 100;

/// Outcomes a window must hold before a rate is judged, when no `min_calls` is given.
pub const DEFAULT_MIN_CALLS: u32 = 10;

/// How long a breaker stays open when no `reset` is given.
pub const DEFAULT_RESET: Duration = Duration::from_secs(30);

/// Trial calls per half-open round when no `probes` is given.
pub const DEFAULT_PROBES: u32 = 1;

/// The retry budget when none is given: retries within 20% of first attempts.
pub const DEFAULT_BUDGET_PERCENT: u32 = 20;

/// The span a retry budget is judged over.
pub const BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// Retries per second a budget always allows, so a fn called a few times a minute retries as
/// written.
pub const BUDGET_MIN_PER_SECOND: u32 = 10;

/// The wait before the first retry when no `backoff` is given; it doubles before each next one.
pub const DEFAULT_BACKOFF_START: Duration = Duration::from_millis(100);

/// The longest wait between retries when no `backoff` is given.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(10);
