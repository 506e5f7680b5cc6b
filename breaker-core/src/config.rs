//! What a breaker is configured with, built and validated at run time.
//!
//! The builder is `const`, so a breaker built by hand can live in a `static`. The attribute checks
//! every value at compile time and builds its configuration with `Config::__attribute` from the
//! final values, which costs the compiler less than interpreting the builder's checks again;
//! `tests/attribute_config.rs` holds the two paths to the same result.

use std::fmt;
use std::time::Duration;

use crate::clock::double_capped;
pub use crate::limits::{BUDGET_MIN_PER_SECOND, BUDGET_WINDOW};
use crate::limits::{
    DEFAULT_BUDGET_PERCENT, DEFAULT_MIN_CALLS, DEFAULT_PROBES, DEFAULT_RESET, DEFAULT_THRESHOLD,
    DEFAULT_WINDOW, MAX_COUNT_WINDOW, MAX_PERCENT, MAX_PROBES, MIN_TIME_WINDOW,
};

/// How a closed breaker decides to open.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripPolicy {
    /// Opens after this many recorded failures in a row; a success starts the count again.
    Consecutive {
        /// Failures in a row that open the breaker, at least 1.
        threshold: u32,
    },
    /// Opens when at least `percent` of the outcomes in the window are failures, once the window
    /// holds `min_calls` outcomes.
    FailureRate {
        /// Percent of recorded failures, 1..=100, that opens the breaker.
        percent: u32,
        /// Which outcomes are judged.
        window: Window,
        /// Outcomes the window must hold before the rate is judged.
        min_calls: u32,
    },
}

/// The outcomes a failure-rate policy judges.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last N outcomes, sliding one outcome at a time.
    Count(u32),
    /// The outcomes of the last T, a whole number of milliseconds of at least [`MIN_TIME_WINDOW`]:
    /// judged in 20 buckets of `ceil(T / 20)` ms, an outcome stays in the window for T and less
    /// than one bucket more.
    Time(Duration),
}

/// The slow-call policy: a call slower than `threshold` is slow, whether it succeeded or not; the
/// breaker opens when at least `percent` of the window's calls were slow, judged once the window
/// holds `min_calls` outcomes. It shares the window kind and `min_calls` of a failure-rate policy
/// when both are configured, and works beside either failure policy.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlowCalls {
    /// A call that takes longer than this is slow.
    pub threshold: Duration,
    /// Percent (1..=100) of slow calls in the window that opens the breaker.
    pub percent: u32,
    /// Which outcomes are judged.
    pub window: Window,
    /// Outcomes the window must hold before the rate is judged.
    pub min_calls: u32,
}

/// How many retries a breaker's calls may make, on top of their first attempts (R11).
///
/// Over the last [`BUDGET_WINDOW`], retries stay within `percent` of the first attempts, or
/// [`BUDGET_MIN_PER_SECOND`] retries per second when that is more. A retry the budget denies is
/// not made: the call returns its last real error at once. Shared by every fn on the breaker.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Budget {
    /// No bound: every call retries as written.
    Off,
    /// Retries bounded to this percent (1..=100) of first attempts.
    Percent(u32),
}

impl Budget {
    /// `20%`, the default: a failing service receives at most 1.2 times its normal load from
    /// retries (plus the floor of 10 retries per second).
    pub const DEFAULT: Budget = Budget::Percent(DEFAULT_BUDGET_PERCENT);
}

/// How long an opened breaker stays open before it lets probes through.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// Always the same period.
    Fixed(Duration),
    /// Starts at `min` and doubles after each failed half-open round, capped at `max`; a close starts
    /// it again at `min`.
    Backoff {
        /// The first open period.
        min: Duration,
        /// The longest open period.
        max: Duration,
    },
}

/// A duration as the attribute writes it: whole units, the largest that divides it (`"30s"`,
/// `"250ms"`, `"5m"`, `"1h"`).
pub(crate) struct AttributeDuration(pub(crate) Duration);

impl fmt::Display for AttributeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !self.0.subsec_nanos().is_multiple_of(1_000_000) {
            return write!(f, "{:?}", self.0);
        }
        match ms {
            0 => f.write_str("0ms"),
            ms if ms % 3_600_000 == 0 => write!(f, "{}h", ms / 3_600_000),
            ms if ms % 60_000 == 0 => write!(f, "{}m", ms / 60_000),
            ms if ms % 1_000 == 0 => write!(f, "{}s", ms / 1_000),
            ms => write!(f, "{ms}ms"),
        }
    }
}

/// As the attribute's `reset` key writes it: `30s`, or `1s..60s` for a backoff.
///
/// ```
/// use std::time::Duration;
/// use breaker_core::Reset;
///
/// let reset = Reset::Backoff { min: Duration::from_secs(1), max: Duration::from_secs(60) };
/// assert_eq!(reset.to_string(), "1s..1m");
/// assert_eq!(Reset::Fixed(Duration::from_millis(250)).to_string(), "250ms");
/// ```
impl fmt::Display for Reset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reset::Fixed(d) => write!(f, "{}", AttributeDuration(d)),
            Reset::Backoff { min, max } => {
                write!(f, "{}..{}", AttributeDuration(min), AttributeDuration(max))
            }
        }
    }
}

/// As the attribute's `window` key writes it: `100` (outcomes) or `60s`.
impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Window::Count(n) => write!(f, "{n}"),
            Window::Time(d) => write!(f, "{}", AttributeDuration(d)),
        }
    }
}

/// As the attribute's `budget` key writes it: `20%` or `off`.
impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Budget::Off => f.write_str("off"),
            Budget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Reset {
    /// The open period after `failed_rounds` failed half-open rounds, saturating at the cap.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker_core::Reset;
    ///
    /// let reset = Reset::Backoff { min: Duration::from_secs(1), max: Duration::from_secs(8) };
    /// let secs: Vec<u64> = (0..5).map(|n| reset.period(n).as_secs()).collect();
    /// assert_eq!(secs, [1, 2, 4, 8, 8]);
    /// assert_eq!(reset.period(u32::MAX), Duration::from_secs(8));
    /// ```
    pub const fn period(&self, failed_rounds: u32) -> Duration {
        match *self {
            Reset::Fixed(d) => d,
            Reset::Backoff { min, max } => double_capped(min, max, failed_rounds),
        }
    }
}

/// The configuration of one breaker: its name, trip policy, open period and half-open probes.
///
/// Build one with [`Config::builder`], which validates every value:
///
/// ```
/// use std::time::Duration;
/// use breaker_core::{Breaker, Config, Reset, Window};
///
/// let config = Config::builder("payments")
///     .failure_rate(50)
///     .window(Window::Time(Duration::from_secs(60)))
///     .reset(Reset::Backoff { min: Duration::from_secs(1), max: Duration::from_secs(60) })
///     .build()?;
/// let payments = Breaker::new(config);
/// assert_eq!(payments.name(), "payments");
/// # Ok::<(), breaker_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) name: &'static str,
    pub(crate) policy: TripPolicy,
    pub(crate) slow: Option<SlowCalls>,
    pub(crate) reset: Reset,
    pub(crate) probes: u32,
    pub(crate) budget: Budget,
    pub(crate) location: Option<Location>,
}

/// Where a breaker was declared in source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The source file, as `file!()` gives it.
    pub file: &'static str,
    /// The line, as `line!()` gives it.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Config {
    /// The defaults of DESIGN's key table: `threshold = 5`, `reset = "30s"`, `probes = 1`.
    pub const fn new(name: &'static str) -> Config {
        Config {
            name,
            policy: TripPolicy::Consecutive {
                threshold: DEFAULT_THRESHOLD,
            },
            slow: None,
            reset: Reset::Fixed(DEFAULT_RESET),
            probes: DEFAULT_PROBES,
            budget: Budget::DEFAULT,
            location: None,
        }
    }

    /// The configuration of an attribute's breaker, from the values that `#[circuit_breaker]` or
    /// `#[shared_breaker]` checked at compile time against the same limits, with the defaults it
    /// filled in: what [`ConfigBuilder::build`] makes of them, without checking them again. The
    /// attribute's `static` is then one short evaluation for the compiler, where the builder chain
    /// and its checks were interpreted again for every annotated fn (`benches/compile_time.sh`).
    /// `tests/attribute_config.rs` holds the two paths to the same result.
    ///
    /// A `failure_rate` of 0 means the consecutive policy (with `threshold`), a `slow_rate` of 0
    /// no slow-call policy, a `window_ms` of 0 a count window of `window` outcomes, a
    /// `reset_max_ms` of 0 a fixed `reset`, and a `budget` of 0 no retry budget. Not a public API.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __attribute(
        name: &'static str,
        file: &'static str,
        line: u32,
        threshold: u32,
        failure_rate: u32,
        slow_ms: u64,
        slow_rate: u32,
        window: u32,
        window_ms: u64,
        min_calls: u32,
        reset_ms: u64,
        reset_max_ms: u64,
        probes: u32,
        budget: u32,
    ) -> Config {
        let window = if window_ms == 0 {
            Window::Count(window)
        } else {
            Window::Time(Duration::from_millis(window_ms))
        };
        Config {
            name,
            policy: if failure_rate == 0 {
                TripPolicy::Consecutive { threshold }
            } else {
                TripPolicy::FailureRate {
                    percent: failure_rate,
                    window,
                    min_calls,
                }
            },
            slow: if slow_rate == 0 {
                None
            } else {
                Some(SlowCalls {
                    threshold: Duration::from_millis(slow_ms),
                    percent: slow_rate,
                    window,
                    min_calls,
                })
            },
            reset: if reset_max_ms == 0 {
                Reset::Fixed(Duration::from_millis(reset_ms))
            } else {
                Reset::Backoff {
                    min: Duration::from_millis(reset_ms),
                    max: Duration::from_millis(reset_max_ms),
                }
            },
            probes,
            budget: if budget == 0 {
                Budget::Off
            } else {
                Budget::Percent(budget)
            },
            location: Some(Location { file, line }),
        }
    }

    /// Starts a builder with the defaults of [`Config::new`].
    pub const fn builder(name: &'static str) -> ConfigBuilder {
        ConfigBuilder {
            name,
            threshold: None,
            failure_rate: None,
            slow: None,
            slow_rate: None,
            window: None,
            min_calls: None,
            reset: Reset::Fixed(DEFAULT_RESET),
            probes: DEFAULT_PROBES,
            budget: Budget::DEFAULT,
            location: None,
        }
    }

    /// The registry key.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// How the breaker decides to open on failures.
    pub const fn policy(&self) -> TripPolicy {
        self.policy
    }

    /// How the breaker decides to open on slow calls, if it does.
    pub const fn slow_calls(&self) -> Option<SlowCalls> {
        self.slow
    }

    /// The retry budget its calls share.
    pub const fn budget(&self) -> Budget {
        self.budget
    }

    /// How long it stays open.
    pub const fn reset(&self) -> Reset {
        self.reset
    }

    /// Trial calls admitted per half-open round; that many successes close it.
    pub const fn probes(&self) -> u32 {
        self.probes
    }

    /// Where it was declared, when known.
    pub const fn location(&self) -> Option<Location> {
        self.location
    }
}

/// Builds a [`Config`]; [`build`](ConfigBuilder::build) checks the same combinations the attribute
/// rejects at compile time.
#[derive(Clone, Copy, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ConfigBuilder {
    name: &'static str,
    threshold: Option<u32>,
    failure_rate: Option<u32>,
    slow: Option<Duration>,
    slow_rate: Option<u32>,
    window: Option<Window>,
    min_calls: Option<u32>,
    reset: Reset,
    probes: u32,
    budget: Budget,
    location: Option<Location>,
}

impl ConfigBuilder {
    /// Consecutive recorded failures that open the breaker (default 5).
    pub const fn threshold(mut self, failures: u32) -> Self {
        self.threshold = Some(failures);
        self
    }

    /// Percent (1..=100) of recorded failures in the window that opens the breaker.
    pub const fn failure_rate(mut self, percent: u32) -> Self {
        self.failure_rate = Some(percent);
        self
    }

    /// A call slower than this is slow; with [`slow_rate`](ConfigBuilder::slow_rate), the breaker
    /// opens on a rate of slow calls.
    pub const fn slow(mut self, threshold: Duration) -> Self {
        self.slow = Some(threshold);
        self
    }

    /// Percent (1..=100) of slow calls in the window that opens the breaker; needs
    /// [`slow`](ConfigBuilder::slow).
    pub const fn slow_rate(mut self, percent: u32) -> Self {
        self.slow_rate = Some(percent);
        self
    }

    /// The retry budget of the breaker's calls (default [`Budget::DEFAULT`], 20%).
    pub const fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The outcomes a rate (failure or slow) judges (default the last 100).
    pub const fn window(mut self, window: Window) -> Self {
        self.window = Some(window);
        self
    }

    /// Outcomes needed in the window before the rate is judged (default 10).
    pub const fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = Some(calls);
        self
    }

    /// How long the breaker stays open (default 30 s).
    pub const fn reset(mut self, reset: Reset) -> Self {
        self.reset = reset;
        self
    }

    /// Trial calls admitted per half-open round (default 1).
    pub const fn probes(mut self, probes: u32) -> Self {
        self.probes = probes;
        self
    }

    /// Where the breaker is declared, for the registry's messages.
    pub const fn location(mut self, file: &'static str, line: u32) -> Self {
        self.location = Some(Location { file, line });
        self
    }

    /// Checks every value and their combination.
    ///
    /// ```
    /// use breaker_core::{Config, ConfigError};
    ///
    /// let err = Config::builder("db").threshold(5).failure_rate(50).build().unwrap_err();
    /// assert_eq!(err, ConfigError::ThresholdWithFailureRate);
    /// ```
    pub const fn build(self) -> Result<Config, ConfigError> {
        if self.name.is_empty() {
            return Err(ConfigError::EmptyName);
        }
        let rated = self.failure_rate.is_some() || self.slow_rate.is_some();
        if !rated {
            if self.window.is_some() {
                return Err(ConfigError::WindowWithoutFailureRate);
            }
            if self.min_calls.is_some() {
                return Err(ConfigError::MinCallsWithoutFailureRate);
            }
        }
        // The window and `min_calls` every rate judges.
        let window = match self.window {
            Some(w) => w,
            None => Window::Count(DEFAULT_WINDOW),
        };
        let min_calls = match self.min_calls {
            Some(m) => m,
            None => DEFAULT_MIN_CALLS,
        };
        if rated {
            if min_calls == 0 {
                return Err(ConfigError::ZeroMinCalls);
            }
            match window {
                Window::Count(0) => return Err(ConfigError::ZeroWindow),
                Window::Count(n) if n > MAX_COUNT_WINDOW => {
                    return Err(ConfigError::CountWindowTooLarge(n));
                }
                Window::Count(n) if min_calls > n => {
                    return Err(ConfigError::MinCallsAboveWindow {
                        min_calls,
                        window: n,
                    });
                }
                Window::Time(d) if d.as_millis() == 0 => return Err(ConfigError::ZeroWindow),
                Window::Time(d) if d.as_nanos() < MIN_TIME_WINDOW.as_nanos() => {
                    return Err(ConfigError::TimeWindowTooShort(d));
                }
                Window::Time(d) if d.subsec_nanos() % 1_000_000 != 0 => {
                    return Err(ConfigError::TimeWindowNotWholeMillis(d));
                }
                _ => {}
            }
        }
        let policy = match (self.threshold, self.failure_rate) {
            (Some(_), Some(_)) => return Err(ConfigError::ThresholdWithFailureRate),
            (threshold, None) => {
                let threshold = match threshold {
                    Some(t) => t,
                    None => 5,
                };
                if threshold == 0 {
                    return Err(ConfigError::ZeroThreshold);
                }
                TripPolicy::Consecutive { threshold }
            }
            (None, Some(percent)) => {
                if percent == 0 || percent > MAX_PERCENT {
                    return Err(ConfigError::FailureRateOutOfRange(percent));
                }
                TripPolicy::FailureRate {
                    percent,
                    window,
                    min_calls,
                }
            }
        };
        let slow = match (self.slow, self.slow_rate) {
            (None, None) => None,
            (Some(_), None) => return Err(ConfigError::SlowWithoutSlowRate),
            (None, Some(_)) => return Err(ConfigError::SlowRateWithoutSlow),
            (Some(threshold), Some(percent)) => {
                if threshold.is_zero() {
                    return Err(ConfigError::ZeroSlow);
                }
                if percent == 0 || percent > MAX_PERCENT {
                    return Err(ConfigError::SlowRateOutOfRange(percent));
                }
                Some(SlowCalls {
                    threshold,
                    percent,
                    window,
                    min_calls,
                })
            }
        };
        match self.reset {
            Reset::Fixed(d) if d.as_millis() == 0 => return Err(ConfigError::ZeroReset),
            Reset::Backoff { min, .. } if min.as_millis() == 0 => {
                return Err(ConfigError::ZeroReset);
            }
            Reset::Backoff { min, max } if max.as_nanos() < min.as_nanos() => {
                return Err(ConfigError::ResetRangeInverted);
            }
            _ => {}
        }
        if self.probes == 0 || self.probes > MAX_PROBES {
            return Err(ConfigError::ProbesOutOfRange(self.probes));
        }
        if let Budget::Percent(p) = self.budget
            && (p == 0 || p > MAX_PERCENT)
        {
            return Err(ConfigError::BudgetOutOfRange(p));
        }
        Ok(Config {
            name: self.name,
            policy,
            slow,
            reset: self.reset,
            probes: self.probes,
            budget: self.budget,
            location: self.location,
        })
    }
}

/// Why a [`ConfigBuilder`] refused its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The name is empty.
    EmptyName,
    /// Both a consecutive threshold and a failure rate were given.
    ThresholdWithFailureRate,
    /// `threshold` is 0.
    ZeroThreshold,
    /// `failure_rate` is not in 1..=100.
    FailureRateOutOfRange(u32),
    /// A window was given without a failure rate or a slow-call rate.
    WindowWithoutFailureRate,
    /// `min_calls` was given without a failure rate or a slow-call rate.
    MinCallsWithoutFailureRate,
    /// The window is empty (0 outcomes or a zero duration).
    ZeroWindow,
    /// The count window exceeds [`MAX_COUNT_WINDOW`].
    CountWindowTooLarge(u32),
    /// A time window shorter than [`MIN_TIME_WINDOW`], which could not be honoured.
    TimeWindowTooShort(Duration),
    /// A time window with a fraction of a millisecond, finer than the clock counts.
    TimeWindowNotWholeMillis(Duration),
    /// `min_calls` is 0.
    ZeroMinCalls,
    /// `min_calls` exceeds a count window, so the rate could never be judged.
    MinCallsAboveWindow {
        /// The `min_calls` given.
        min_calls: u32,
        /// The count window given.
        window: u32,
    },
    /// The open period is shorter than a millisecond.
    ZeroReset,
    /// A reset range ends below its start.
    ResetRangeInverted,
    /// `probes` is not in 1..=1023.
    ProbesOutOfRange(u32),
    /// `attempts` is not in 1..=100.
    AttemptsOutOfRange(u32),
    /// `attempts > 1` without a retry granularity: what the breaker counts would be implicit.
    RetryWithoutGranularity {
        /// The `attempts` given.
        attempts: u32,
    },
    /// A granularity, backoff, jitter or nesting was given for a single attempt, which never
    /// retries.
    RetrySettingWithoutAttempts,
    /// A backoff range ends below its start.
    BackoffRangeInverted,
    /// An attempt timeout shorter than a millisecond.
    ZeroTimeout,
    /// `slow` was given without `slow_rate`.
    SlowWithoutSlowRate,
    /// `slow_rate` was given without `slow`.
    SlowRateWithoutSlow,
    /// `slow_rate` is not in 1..=100.
    SlowRateOutOfRange(u32),
    /// `slow` is zero: every call would be slow.
    ZeroSlow,
    /// A budget percent not in 1..=100.
    BudgetOutOfRange(u32),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::EmptyName => f.write_str("a breaker name must not be empty"),
            ConfigError::ThresholdWithFailureRate => f.write_str(
                "`threshold` and `failure_rate` are two trip policies; give one: `threshold` opens \
                 after N failures in a row, `failure_rate` after a percentage of a window",
            ),
            ConfigError::ZeroThreshold => {
                f.write_str("`threshold` must be at least 1 failure in a row")
            }
            ConfigError::FailureRateOutOfRange(p) => {
                write!(f, "`failure_rate` is a percent in 1..=100, got {p}")
            }
            ConfigError::WindowWithoutFailureRate => f.write_str(
                "`window` only applies to a rate policy; add `failure_rate` (or `slow_rate`) or \
                 remove it",
            ),
            ConfigError::MinCallsWithoutFailureRate => f.write_str(
                "`min_calls` only applies to a rate policy; add `failure_rate` (or `slow_rate`) \
                 or remove it",
            ),
            ConfigError::ZeroWindow => f.write_str("`window` must hold at least one outcome"),
            ConfigError::CountWindowTooLarge(n) => {
                write!(f, "a count `window` holds at most {MAX_COUNT_WINDOW} outcomes, got {n}")
            }
            ConfigError::TimeWindowTooShort(d) => write!(
                f,
                "a time `window` must be at least {MIN_TIME_WINDOW:?}: it is judged in 20 buckets \
                 of whole milliseconds; got {d:?}"
            ),
            ConfigError::TimeWindowNotWholeMillis(d) => write!(
                f,
                "a time `window` is a whole number of milliseconds, the clock's resolution; got \
                 {d:?}"
            ),
            ConfigError::ZeroMinCalls => f.write_str("`min_calls` must be at least 1"),
            ConfigError::MinCallsAboveWindow { min_calls, window } => write!(
                f,
                "`min_calls` ({min_calls}) exceeds the count `window` ({window}), so the rate would \
                 never be judged; use `min_calls <= {window}`"
            ),
            ConfigError::ZeroReset => f.write_str("`reset` must be at least 1ms"),
            ConfigError::ResetRangeInverted => {
                f.write_str("the `reset` range ends below its start; write it as `\"min..max\"`")
            }
            ConfigError::ProbesOutOfRange(p) => {
                write!(f, "`probes` must be in 1..={MAX_PROBES}, got {p}")
            }
            ConfigError::AttemptsOutOfRange(n) => {
                write!(f, "`attempts` must be in 1..={}, got {n}", crate::limits::MAX_ATTEMPTS)
            }
            ConfigError::RetryWithoutGranularity { attempts } => write!(
                f,
                "{attempts} attempts need a retry granularity: `Granularity::PerAttempt` makes the \
                 breaker count every attempt, `Granularity::PerCall` counts each call once after \
                 its retries"
            ),
            ConfigError::RetrySettingWithoutAttempts => f.write_str(
                "a retry granularity, backoff, jitter or nesting only applies with `attempts` above 1",
            ),
            ConfigError::BackoffRangeInverted => {
                f.write_str("the backoff range ends below its start; write it as `\"min..max\"`")
            }
            ConfigError::ZeroTimeout => f.write_str("an attempt `timeout` must be at least 1ms"),
            ConfigError::SlowWithoutSlowRate => f.write_str(
                "`slow` says which calls are slow; add `slow_rate` (the percent of slow calls that \
                 opens the breaker) or remove `slow`",
            ),
            ConfigError::SlowRateWithoutSlow => f.write_str(
                "`slow_rate` needs `slow`, the duration beyond which a call is slow",
            ),
            ConfigError::SlowRateOutOfRange(p) => {
                write!(f, "`slow_rate` is a percent in 1..=100, got {p}")
            }
            ConfigError::ZeroSlow => f.write_str("`slow` must be at least 1ms"),
            ConfigError::BudgetOutOfRange(p) => write!(
                f,
                "a retry `budget` is a percent in 1..=100 of first attempts, got {p}; or `off`"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
