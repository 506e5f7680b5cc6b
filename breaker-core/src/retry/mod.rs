//! Call-scoped behaviour: how one fn's calls retry ([`policy`]), the driver that runs a call's
//! attempts under its breaker ([`call`]), the retry budget they share per breaker ([`budget`]), and
//! the nesting scope that keeps two layers of retries from multiplying ([`nesting`]).

#[cfg(not(loom))]
mod budget;
#[cfg(not(loom))]
mod call;
#[cfg(not(loom))]
mod nesting;
mod policy;
#[cfg(not(loom))]
mod step;

#[cfg(not(loom))]
pub(crate) use self::budget::RetryBudget;
#[cfg(not(loom))]
pub(crate) use self::call::attempt_scope;
#[cfg(not(loom))]
pub use self::call::{Call, Next};
#[cfg(not(loom))]
pub(crate) use self::nesting::start_single;
#[cfg(not(loom))]
pub use self::nesting::{AttemptScope, EnteredScope, InScope, NestingScope, in_scope};
pub use self::policy::{
    Backoff, CallPolicy, CallPolicyBuilder, DEFAULT_BACKOFF, Granularity, Nested, jitter,
};
#[cfg(not(loom))]
pub use self::step::{Last, Retrying, Step};
