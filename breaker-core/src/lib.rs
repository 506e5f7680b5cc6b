//! The runtime of [`breakerbox`](https://docs.rs/breakerbox): the circuit breaker state machine, its trip
//! policies, the retry driver, the registry and the transition events.
//!
//! Most programs use it through the `breakerbox` crate's `#[circuit_breaker]` attribute; everything the
//! attribute expresses is also reachable here by hand: [`Config`] and [`Breaker::try_acquire`] for a
//! breaker, [`CallPolicy::run`] for retry under a breaker, [`CallSite::run`] for retry under a
//! breaker by a named call site (which nesting edges can name).
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![forbid(unsafe_code)]

// The parts, each arrow pointing down only: `circuit` (the breaker: its state cell and permits)
// asks `policy` (when to open) and announces through `events`; `retry` drives calls through
// `circuit` under the breaker's retry budget and the nesting scope; `registry` lists breakers,
// their call sites and the nestings seen between them. `config`, `limits`, `clock`,
// `generation`, `metrics` and the small value types sit under all of them. `testing` (feature
// `testing` only) sits beside `registry`: it resets breakers, pins jitter, and hands the driver the
// faults it injects, through a hook that exists only with the feature.
//
// Inlining hints (`#[inline]`, `#[inline(always)]`) are written `cfg_attr(not(debug_assertions),
// ..)`: an optimised build inlines the hot path across crates as before. A build with debug
// assertions (a dev profile) would otherwise compile each hinted fn that an annotated fn reaches
// again in the user's crate, one codegen unit per module of ours, and inline none of them; without
// the hints it links this crate's own copies (`benches/compile_time.sh`).
mod circuit;
mod clock;
mod config;
mod error;
#[cfg(not(loom))]
mod events;
mod generation;
mod injectable;
mod limits;
mod metrics;
mod name;
mod policy;
mod reason;
#[cfg(not(loom))]
mod registry;
mod retry;
mod state;
mod sync;
#[cfg(all(feature = "testing", not(loom)))]
pub mod testing;
mod verdict;

pub use crate::circuit::{Breaker, OwnedPermit, Permit};
pub use crate::config::{
    BUDGET_MIN_PER_SECOND, BUDGET_WINDOW, Budget, Config, ConfigBuilder, ConfigError, Location,
    Reset, SlowCalls, TripPolicy, Window,
};
pub use crate::error::{Rejected, TimedOut};
#[cfg(not(loom))]
pub use crate::events::{CAPACITY as EVENTS_CAPACITY, Events, Lagged, Transition};
pub use crate::injectable::Injectable;
pub use crate::limits::{MAX_ATTEMPTS, MAX_COUNT_WINDOW, MAX_PROBES, MIN_TIME_WINDOW};
pub use crate::metrics::Metrics;
pub use crate::name::Name;
pub use crate::reason::Reason;
#[cfg(all(feature = "metrics", not(loom)))]
pub use crate::registry::state_gauge;
#[cfg(not(loom))]
pub use crate::registry::{
    BreakerSnapshot, CallSite, DuplicateName, DuplicateNames, NestingEdge, Registry, RestoreError,
    SNAPSHOT_FORMAT, Snapshot, registry,
};
pub use crate::retry::{
    Backoff, CallPolicy, CallPolicyBuilder, DEFAULT_BACKOFF, Granularity, Nested, jitter,
};
#[cfg(not(loom))]
pub use crate::retry::{EnteredScope, InScope, NestingScope, in_scope};
pub use crate::state::State;
pub use crate::verdict::Verdict;

#[cfg(loom)]
pub use crate::clock::{advance, rewind};
#[cfg(not(loom))]
#[doc(hidden)]
pub mod __private;
