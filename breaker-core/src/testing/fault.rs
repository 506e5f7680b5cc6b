//! Injected failures: the next `n` attempts through a breaker return an error made by a factory,
//! without running the body, as a failing server would have them do. The breakers named here are
//! resolved through the registry; the faults go to the table in `armed.rs`.

use std::any::Any;
use std::sync::Arc;

use super::armed::{self, address};
use crate::{Breaker, Name, registry};

/// Which breaker [`fail_next`] and [`faults_left`] mean: a breaker (`&BREAKER`, `&arc`), or a
/// name, which is looked up as a breaker's name in the [`registry`], then as the path of an
/// annotated fn (`my_app::client::fetch_user`), which names the breaker the fn calls through.
///
/// Every annotated fn without `shared` has a breaker of its own, named by default after the fn's
/// path, so the fn's path (or its `name`) fails that fn alone; the path of a fn with
/// `shared = PATH` names the shared breaker, and so fails every fn on it.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a>(Which<'a>);

#[derive(Clone, Copy, Debug)]
enum Which<'a> {
    Breaker(&'a Breaker),
    Name(&'a str),
}

impl<'a> From<&'a Breaker> for Target<'a> {
    fn from(breaker: &'a Breaker) -> Self {
        Target(Which::Breaker(breaker))
    }
}

impl<'a> From<&'a Arc<Breaker>> for Target<'a> {
    fn from(breaker: &'a Arc<Breaker>) -> Self {
        Target(Which::Breaker(breaker))
    }
}

impl<'a> From<&'a str> for Target<'a> {
    fn from(name: &'a str) -> Self {
        Target(Which::Name(name))
    }
}

impl<'a> From<&'a String> for Target<'a> {
    fn from(name: &'a String) -> Self {
        Target(Which::Name(name))
    }
}

impl Target<'_> {
    /// The breaker's address (the table's key) and name.
    ///
    /// # Panics
    ///
    /// When a name is neither a breaker's nor an annotated fn's.
    fn resolve(self) -> (usize, Name) {
        let breaker = match self.0 {
            Which::Breaker(breaker) => breaker,
            Which::Name(name) => registry()
                .get(name)
                .or_else(|| {
                    registry()
                        .iter()
                        .find(|b| b.call_sites().iter().any(|s| s.function() == name))
                })
                .unwrap_or_else(|| {
                    panic!(
                        "breakerbox::testing: no breaker is named `{name}`, and no annotated fn \
                         has that path"
                    )
                }),
        };
        (address(breaker), Name::from(breaker.name().to_owned()))
    }
}

/// Makes the next `n` attempts through `breaker` fail with `error()`, without running their body;
/// `n = 0` disarms it. It replaces whatever was armed on that breaker before.
///
/// An injected error goes through the driver as the body's own would: the attempt was admitted,
/// `classify` judges the error, the breaker records it (a `Transient` or `Permanent` one as a
/// failure, which can open the breaker), and the call retries it per its policy, each retry one
/// more attempt that the next injected fault (if any is left) takes. An attempt the breaker
/// refuses takes no fault. Faults are taken by the calls of annotated fns and of
/// [`CallPolicy::run`](crate::CallPolicy::run) and
/// [`CallPolicy::run_blocking`](crate::CallPolicy::run_blocking); a permit taken by hand with
/// [`Breaker::try_acquire`] takes none.
///
/// The factory's type is checked against the error type of the fn that takes the fault, at run
/// time: a factory of another type makes that call panic with a message naming both types (a
/// [`shared`](Target) breaker's fns may have different error types).
///
/// The table of armed faults is process-wide, like the registry: a test that arms faults should
/// hold [`isolate`](super::isolate), which disarms every fault when taken and when dropped.
///
/// # Panics
///
/// When `breaker` is a name that is neither a breaker's nor an annotated fn's.
///
/// ```
/// use breaker_core::{Breaker, CallPolicy, Config, Granularity, Rejected, TimedOut, Verdict, testing};
///
/// #[derive(Debug, PartialEq)]
/// enum Error { Down, Rejected, TimedOut }
/// impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error::Rejected } }
/// impl From<TimedOut> for Error { fn from(_: TimedOut) -> Self { Error::TimedOut } }
///
/// static API: Breaker = Breaker::new(Config::new("fault.api")); // threshold 5
///
/// let _guard = testing::isolate();
/// testing::fail_next(&API, 2, || Error::Down);
/// let policy = CallPolicy::builder().attempts(3).retry(Granularity::PerAttempt).build()?;
/// let mut ran = 0;
/// let result = policy.run_blocking(&API, Verdict::transient, || { ran += 1; Ok::<_, Error>(ran) });
/// assert_eq!(result, Ok(1)); // two injected failures, then the body ran once
/// let m = API.metrics();
/// assert_eq!((m.failures, m.successes, m.retries), (2, 1, 2));
/// assert_eq!(testing::faults_left(&API), 0);
/// # Ok::<(), breaker_core::ConfigError>(())
/// ```
pub fn fail_next<'a, E, F>(breaker: impl Into<Target<'a>>, n: u32, error: F)
where
    E: Any,
    F: Fn() -> E + Send + Sync + 'static,
{
    let (at, name) = breaker.into().resolve();
    armed::arm(at, name, n, error);
}

/// How many injected faults `breaker` has left to hand out.
///
/// # Panics
///
/// When `breaker` is a name that is neither a breaker's nor an annotated fn's.
pub fn faults_left<'a>(breaker: impl Into<Target<'a>>) -> u32 {
    let (at, _) = breaker.into().resolve();
    armed::left(at)
}

/// Disarms every injected fault, on every breaker.
pub fn clear_faults() {
    armed::clear();
}
