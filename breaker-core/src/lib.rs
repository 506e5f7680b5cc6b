//! The runtime of [`breakerbox`](https://docs.rs/breakerbox): the circuit breaker state machine, its trip
//! policies, the retry driver, the registry and the transition events.
//!
//! Most programs use it through the `breakerbox` crate's `#[circuit_breaker]` attribute; everything the
//! attribute expresses is also reachable here by hand: [`Config`] and [`Breaker::try_acquire`] for a
//! breaker, [`CallPolicy::run`] for retry under a breaker.
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![forbid(unsafe_code)]

#[cfg(not(loom))]
mod call;
mod circuit;
mod clock;
mod config;
#[cfg(not(loom))]
mod duplicate;
mod error;
#[cfg(not(loom))]
mod events;
#[cfg(all(feature = "metrics", not(loom)))]
mod export;
mod metrics;
mod permit;
mod reason;
#[cfg(not(loom))]
mod registry;
mod retry;
#[cfg(not(loom))]
mod snapshot;
mod state;
mod sync;
mod verdict;
mod window;

#[cfg(not(loom))]
pub use crate::call::{Call, Next};
pub use crate::circuit::Breaker;
pub use crate::config::{
    BUDGET_MIN_PER_SECOND, BUDGET_WINDOW, Budget, Config, ConfigBuilder, ConfigError, Location,
    MAX_COUNT_WINDOW, MIN_TIME_WINDOW, Reset, SlowCalls, TripPolicy, Window,
};
#[cfg(not(loom))]
pub use crate::duplicate::{DuplicateName, DuplicateNames};
pub use crate::error::{Rejected, TimedOut};
#[cfg(not(loom))]
pub use crate::events::{CAPACITY as EVENTS_CAPACITY, Events, Lagged, Transition};
#[cfg(all(feature = "metrics", not(loom)))]
pub use crate::export::state_gauge;
pub use crate::metrics::Metrics;
pub use crate::permit::Permit;
pub use crate::reason::Reason;
#[cfg(not(loom))]
pub use crate::registry::{CallSite, Registry, registry};
pub use crate::retry::{
    Backoff, CallPolicy, CallPolicyBuilder, DEFAULT_BACKOFF, Granularity, MAX_ATTEMPTS, Nested,
    jitter,
};
#[cfg(not(loom))]
pub use crate::snapshot::{BreakerSnapshot, RestoreError, SNAPSHOT_FORMAT, Snapshot};
pub use crate::state::State;
pub use crate::verdict::Verdict;

#[cfg(loom)]
pub use crate::clock::advance;
#[cfg(not(loom))]
#[doc(hidden)]
pub mod __private;
