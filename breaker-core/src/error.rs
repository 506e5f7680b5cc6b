//! The two errors the breaker itself produces, carried in the user's error type.

use std::fmt;
use std::time::Duration;

use crate::Name;

/// A call the breaker refused without running it.
///
/// The user's error type holds it through `From<Rejected>`:
///
/// ```
/// use breaker_core::Rejected;
///
/// #[derive(Debug)]
/// enum ApiError { Http(u16), Unavailable(Rejected) }
///
/// impl From<Rejected> for ApiError {
///     fn from(r: Rejected) -> Self { ApiError::Unavailable(r) }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    breaker: Name,
    retry_after: Option<Duration>,
}

impl Rejected {
    pub(crate) fn new(breaker: Name, retry_after: Option<Duration>) -> Rejected {
        Rejected {
            breaker,
            retry_after,
        }
    }

    /// The name of the breaker that refused.
    pub fn breaker(&self) -> &str {
        &self.breaker
    }

    /// How long until the breaker lets a probe through, when that is known: `None` for a forced-open
    /// breaker and for a half-open one whose probes are all taken.
    pub const fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "circuit breaker `{}` is open", self.breaker)?;
        if let Some(after) = self.retry_after {
            write!(f, "; retry in {after:?}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// An attempt that missed its `timeout`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedOut {
    after: Duration,
}

impl TimedOut {
    /// An attempt that was cut off after `after`.
    pub const fn new(after: Duration) -> TimedOut {
        TimedOut { after }
    }

    /// The deadline the attempt missed.
    pub const fn after(&self) -> Duration {
        self.after
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt timed out after {:?}", self.after)
    }
}

impl std::error::Error for TimedOut {}

/// So that fns returning `std::io::Result<T>` can be annotated: a rejection becomes an
/// [`io::Error`](std::io::Error) of kind `Other` that carries the [`Rejected`] (reach it with
/// `get_ref()` and `downcast_ref`).
impl From<Rejected> for std::io::Error {
    fn from(rejected: Rejected) -> Self {
        std::io::Error::other(rejected)
    }
}

/// An attempt timeout becomes an [`io::Error`](std::io::Error) of kind `TimedOut` that carries the
/// [`TimedOut`].
impl From<TimedOut> for std::io::Error {
    fn from(timed_out: TimedOut) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, timed_out)
    }
}
