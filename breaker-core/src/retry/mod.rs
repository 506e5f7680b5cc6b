//! Call-scoped behaviour: how one fn's calls retry ([`policy`]) and the driver that runs a call's
//! attempts under its breaker ([`call`]).

#[cfg(not(loom))]
mod call;
mod policy;

#[cfg(not(loom))]
pub(crate) use self::call::attempt_span;
#[cfg(not(loom))]
pub use self::call::{Call, Next};
pub use self::policy::{
    Backoff, CallPolicy, CallPolicyBuilder, DEFAULT_BACKOFF, Granularity, Nested, jitter,
};
