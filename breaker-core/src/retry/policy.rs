//! Call-scoped settings: how many attempts, what the breaker counts, how long to wait between them.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use crate::ConfigError;
use crate::clock::double_capped;
use crate::limits::MAX_ATTEMPTS;

/// What the breaker counts when a call retries: the choice every `attempts > 1` must make.
///
/// With `threshold = 5` and 3 attempts per call, against a service that is down:
///
/// | granularity   | the breaker sees          | opens after        | a half-open probe sends |
/// |---------------|---------------------------|--------------------|-------------------------|
/// | `PerAttempt`  | every attempt             | 5 failed requests  | 1 request               |
/// | `PerCall`     | each call, after retries  | 15 failed requests | 1 request               |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// Retry wraps the breaker: each attempt is admitted and recorded; when the breaker refuses an
    /// attempt the call ends at once, without sleeping (R1).
    PerAttempt,
    /// The breaker wraps retry: one admission and one recorded outcome per call; a call admitted as
    /// a half-open probe makes one attempt only (R2).
    PerCall,
}

impl Granularity {
    /// The attribute's spelling: `per_attempt` or `per_call`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Granularity::PerAttempt => "per_attempt",
            Granularity::PerCall => "per_call",
        }
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a retrying fn does when it is called inside an attempt of another retrying annotated fn,
/// in the same task (R12).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Nested {
    /// One attempt: the outer call's retries are the only ones (the default), so a failing service
    /// behind two layers of 3 attempts receives 3 requests per outer call, not 9.
    #[default]
    Single,
    /// Its own attempts too (`nested = "retry"`): the requests multiply.
    Retry,
}

/// The wait before a retry, before jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// The same wait before every retry.
    Fixed(Duration),
    /// `start` before the first retry, doubling before each next one, capped at `cap`.
    Exponential {
        /// The wait before the first retry.
        start: Duration,
        /// The longest wait.
        cap: Duration,
    },
}

impl Backoff {
    /// The wait before retry number `retry` (1 for the first), without jitter; saturates at the cap
    /// for any `retry`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker_core::Backoff;
    ///
    /// let b = Backoff::Exponential { start: Duration::from_millis(100), cap: Duration::from_secs(2) };
    /// let ms: Vec<u128> = (1..=6).map(|n| b.delay(n).as_millis()).collect();
    /// assert_eq!(ms, [100, 200, 400, 800, 1600, 2000]);
    /// assert_eq!(b.delay(10_000), Duration::from_secs(2));
    /// ```
    pub const fn delay(&self, retry: u32) -> Duration {
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Exponential { start, cap } => {
                double_capped(start, cap, retry.saturating_sub(1))
            }
        }
    }
}

/// How one function's calls retry: attempts, granularity, backoff, jitter and attempt timeout.
///
/// ```
/// use std::time::Duration;
/// use breaker_core::{Backoff, CallPolicy, Granularity};
///
/// let policy = CallPolicy::builder()
///     .attempts(3)
///     .retry(Granularity::PerCall)
///     .backoff(Backoff::Fixed(Duration::from_millis(200)))
///     .build()?;
/// assert_eq!(policy.attempts(), 3);
/// # Ok::<(), breaker_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallPolicy {
    attempts: u32,
    granularity: Granularity,
    backoff: Backoff,
    jitter: bool,
    timeout: Option<Duration>,
    nested: Nested,
}

/// The backoff used when none is given: exponential from 100 ms, capped at 10 s.
pub const DEFAULT_BACKOFF: Backoff = Backoff::Exponential {
    start: crate::limits::DEFAULT_BACKOFF_START,
    cap: crate::limits::DEFAULT_BACKOFF_CAP,
};

impl CallPolicy {
    /// One attempt, no timeout.
    pub const SINGLE: CallPolicy = CallPolicy {
        attempts: 1,
        granularity: Granularity::PerCall,
        backoff: DEFAULT_BACKOFF,
        jitter: true,
        timeout: None,
        nested: Nested::Single,
    };

    /// The retry settings of an annotated fn, from the values `#[circuit_breaker]` checked at
    /// compile time against the same limits, with the defaults it filled in: what
    /// [`CallPolicyBuilder::build`] makes of them, without checking them again (see
    /// [`Config::__attribute`](crate::Config::__attribute) for why). The backoff waits
    /// `backoff_ms`, doubling up to `backoff_cap_ms` when `exponential`; a `timeout_ms` of 0 means
    /// no attempt timeout. Not a public API.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __attribute(
        attempts: u32,
        granularity: Granularity,
        backoff_ms: u64,
        backoff_cap_ms: u64,
        exponential: bool,
        jitter: bool,
        timeout_ms: u64,
        nested: Nested,
    ) -> CallPolicy {
        CallPolicy {
            attempts,
            granularity,
            backoff: if exponential {
                Backoff::Exponential {
                    start: Duration::from_millis(backoff_ms),
                    cap: Duration::from_millis(backoff_cap_ms),
                }
            } else {
                Backoff::Fixed(Duration::from_millis(backoff_ms))
            },
            jitter,
            timeout: if timeout_ms == 0 {
                None
            } else {
                Some(Duration::from_millis(timeout_ms))
            },
            nested,
        }
    }

    /// Starts a builder: one attempt, no timeout.
    pub const fn builder() -> CallPolicyBuilder {
        CallPolicyBuilder {
            attempts: 1,
            granularity: None,
            backoff: None,
            jitter: None,
            timeout: None,
            nested: None,
        }
    }

    /// Total attempts per call.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// What the breaker counts. With one attempt both mean the same; it reads `PerCall`.
    pub const fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The wait between attempts, before jitter.
    pub const fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// Whether waits are drawn uniformly from `[0, backoff]` (full jitter).
    pub const fn jitter(&self) -> bool {
        self.jitter
    }

    /// The deadline of each attempt, if any.
    pub const fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// What it does inside another retrying call's attempt.
    pub const fn nested(&self) -> Nested {
        self.nested
    }

    /// The wait before retry number `retry` (1 for the first), jitter applied.
    pub fn wait(&self, retry: u32) -> Duration {
        let d = self.backoff.delay(retry);
        if self.jitter { jitter(d) } else { d }
    }
}

impl fmt::Display for CallPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attempts == 1 {
            f.write_str("1 attempt")?;
        } else {
            write!(f, "{} attempts {}", self.attempts, self.granularity)?;
        }
        if let Some(t) = self.timeout {
            write!(f, ", timeout {t:?}")?;
        }
        Ok(())
    }
}

/// Builds a [`CallPolicy`], checking the combinations the attribute rejects at compile time.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct CallPolicyBuilder {
    attempts: u32,
    granularity: Option<Granularity>,
    backoff: Option<Backoff>,
    jitter: Option<bool>,
    timeout: Option<Duration>,
    nested: Option<Nested>,
}

impl CallPolicyBuilder {
    /// Total attempts per call, 1..=100 (default 1).
    pub const fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// What the breaker counts; required when `attempts > 1`.
    pub const fn retry(mut self, granularity: Granularity) -> Self {
        self.granularity = Some(granularity);
        self
    }

    /// The wait between attempts (default exponential 100 ms..10 s).
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Full jitter on the waits (default on).
    pub const fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// A deadline for each attempt (async calls only).
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the call does inside another retrying call's attempt (default [`Nested::Single`]).
    pub const fn nested(mut self, nested: Nested) -> Self {
        self.nested = Some(nested);
        self
    }

    /// Checks the values and their combination.
    ///
    /// ```
    /// use breaker_core::{CallPolicy, ConfigError};
    ///
    /// // Retrying without saying what the breaker counts is refused.
    /// let err = CallPolicy::builder().attempts(3).build().unwrap_err();
    /// assert_eq!(err, ConfigError::RetryWithoutGranularity { attempts: 3 });
    /// ```
    pub const fn build(self) -> Result<CallPolicy, ConfigError> {
        if self.attempts == 0 || self.attempts > MAX_ATTEMPTS {
            return Err(ConfigError::AttemptsOutOfRange(self.attempts));
        }
        let granularity = match self.granularity {
            Some(g) => g,
            None if self.attempts > 1 => {
                return Err(ConfigError::RetryWithoutGranularity {
                    attempts: self.attempts,
                });
            }
            None => Granularity::PerCall,
        };
        if self.attempts == 1
            && (self.granularity.is_some()
                || self.backoff.is_some()
                || self.jitter.is_some()
                || self.nested.is_some())
        {
            return Err(ConfigError::RetrySettingWithoutAttempts);
        }
        let backoff = match self.backoff {
            Some(b) => b,
            None => DEFAULT_BACKOFF,
        };
        if let Backoff::Exponential { start, cap } = backoff
            && cap.as_nanos() < start.as_nanos()
        {
            return Err(ConfigError::BackoffRangeInverted);
        }
        if let Some(t) = self.timeout
            && t.as_millis() == 0
        {
            return Err(ConfigError::ZeroTimeout);
        }
        Ok(CallPolicy {
            attempts: self.attempts,
            granularity,
            backoff,
            jitter: match self.jitter {
                Some(j) => j,
                None => true,
            },
            timeout: self.timeout,
            nested: match self.nested {
                Some(n) => n,
                None => Nested::Single,
            },
        })
    }
}

/// A uniform draw from `[0, max]` (full jitter), from a per-thread xorshift generator: no lock, no
/// allocation, no system call after the first draw on a thread.
///
/// With feature `testing`, `testing::set_jitter` can pin the draw to `max` or to zero.
pub fn jitter(max: Duration) -> Duration {
    #[cfg(all(feature = "testing", not(loom)))]
    if let Some(pinned) = crate::testing::pinned_jitter(max) {
        return pinned;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    // Multiply-shift maps 64 random bits onto [0, nanos] without the bias of `%`.
    let draw = (u128::from(next_random()) * (u128::from(nanos) + 1)) >> 64;
    Duration::from_nanos(draw as u64)
}

fn next_random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = const { Cell::new(0) };
    }
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = seed();
        }
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    // RandomState is seeded by the OS once per process and varied per instance.
    RandomState::new().hash_one(std::thread::current().id()) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_within_bounds() {
        let max = Duration::from_millis(250);
        let draws: Vec<Duration> = (0..10_000).map(|_| jitter(max)).collect();
        assert!(draws.iter().all(|d| *d <= max));
        // Spread over the range, not stuck at one end.
        assert!(draws.iter().any(|d| *d < max / 4));
        assert!(draws.iter().any(|d| *d > max * 3 / 4));
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
