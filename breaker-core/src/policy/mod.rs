//! Trip policies: when a closed breaker opens.
//!
//! A policy is a value the breaker owns and feeds: it is told each outcome of the current closed
//! period with the generation it was admitted in, and answers whether to open (a [`Reason`]) or
//! that the outcome is late. It never sees the breaker, its state word or its permits. The
//! failure policy is the consecutive count or a failure rate; a slow-call rate can sit beside
//! either. Adding a policy touches this folder, the configuration and the attribute's grammar.

mod consecutive;
pub(crate) mod window;

use crate::Reason;
use crate::clock::Millis;
use crate::config::{Config, SlowCalls, TripPolicy};

use self::consecutive::Consecutive;
use self::window::RateWindow;

/// What recording an outcome found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded<T> {
    /// Counted in the current closed period; `Some` asks to open the breaker.
    Counted(Option<T>),
    /// The policy's counts belong to a newer generation than the outcome's: it is late (R5).
    Late,
}

/// One outcome as the policies judge it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) failure: bool,
    /// Slower than the slow-call threshold; always `false` without a slow-call policy.
    pub(crate) slow: bool,
}

/// The counts a closed breaker shows in its [`Metrics`](crate::Metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) consecutive_failures: u32,
    pub(crate) window_calls: u32,
    pub(crate) window_failures: u32,
    pub(crate) window_slow: u32,
}

/// Every trip policy of one breaker.
#[derive(Debug)]
pub(crate) struct Policies {
    failure: Failure,
    slow: Option<Rate>,
    /// Whether recording needs the time (a time window), worked out once.
    needs_clock: bool,
}

// Inline for the same reason as `RateWindow`: a breaker is built in a `static`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Failure {
    Consecutive(Consecutive),
    Rate(Rate),
}

/// A rate over a window: failures for `failure_rate`, slow calls for `slow_rate`.
#[derive(Debug)]
struct Rate {
    percent: u32,
    min_calls: u32,
    window: RateWindow,
}

impl Rate {
    crate::sync::maybe_const! {
        fn new(percent: u32, min_calls: u32, window: crate::config::Window) -> Rate {
            Rate {
                percent,
                min_calls,
                window: RateWindow::new(window),
            }
        }
    }

    fn record(&self, generation: u32, marked: bool, now: Millis) -> Recorded<(u32, u32)> {
        match self.window.record(generation, marked, now) {
            Recorded::Late => Recorded::Late,
            Recorded::Counted(Some(t)) if t.trips(self.percent, self.min_calls) => {
                Recorded::Counted(Some((t.marked, t.calls)))
            }
            Recorded::Counted(_) => Recorded::Counted(None),
        }
    }
}

impl Policies {
    crate::sync::maybe_const! {
        pub(crate) fn new(config: &Config) -> Policies {
            let failure = match config.policy {
                TripPolicy::Consecutive { threshold } => {
                    Failure::Consecutive(Consecutive::new(threshold))
                }
                TripPolicy::FailureRate {
                    percent,
                    window,
                    min_calls,
                } => Failure::Rate(Rate::new(percent, min_calls, window)),
            };
            let slow = match config.slow {
                Some(SlowCalls {
                    percent,
                    window,
                    min_calls,
                    ..
                }) => Some(Rate::new(percent, min_calls, window)),
                None => None,
            };
            let needs_clock = matches!(config.policy, TripPolicy::FailureRate { window: crate::config::Window::Time(_), .. })
                || matches!(config.slow, Some(SlowCalls { window: crate::config::Window::Time(_), .. }));
            Policies { failure, slow, needs_clock }
        }
    }

    /// The consecutive policy, when it is the only one: the breaker's inline success path.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn consecutive_only(&self) -> Option<&Consecutive> {
        match (&self.failure, &self.slow) {
            (Failure::Consecutive(c), None) => Some(c),
            _ => None,
        }
    }

    /// Whether recording needs the time: a time window.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn needs_clock(&self) -> bool {
        self.needs_clock
    }

    /// Records an outcome of `generation` (a closed one) at `now`, and says whether to open.
    pub(crate) fn record(
        &self,
        generation: u32,
        outcome: Outcome,
        now: Millis,
    ) -> Recorded<Reason> {
        let failure = match &self.failure {
            Failure::Consecutive(c) if outcome.failure => c
                .failure(generation)
                .map(|failures| Reason::ConsecutiveFailures { failures }),
            Failure::Consecutive(c) => {
                c.success(generation);
                Recorded::Counted(None)
            }
            Failure::Rate(r) => r
                .record(generation, outcome.failure, now)
                .map(|(failures, calls)| Reason::FailureRate { failures, calls }),
        };
        let slow = match &self.slow {
            Some(r) => r
                .record(generation, outcome.slow, now)
                .map(|(slow, calls)| Reason::SlowCallRate { slow, calls }),
            None => Recorded::Counted(None),
        };
        match (failure, slow) {
            (Recorded::Late, _) | (_, Recorded::Late) => Recorded::Late,
            (Recorded::Counted(first), Recorded::Counted(second)) => {
                Recorded::Counted(first.or(second))
            }
        }
    }

    /// A closed period of `generation` is about to begin (called before any of its calls is
    /// admitted, never beside another transition): the windows that need it empty their part for
    /// it.
    pub(crate) fn begin_closed(&self, generation: u32) {
        if let Failure::Rate(r) = &self.failure {
            r.window.begin(generation);
        }
        if let Some(r) = &self.slow {
            r.window.begin(generation);
        }
    }

    /// The counts of `generation` at `now`.
    pub(crate) fn counts(&self, generation: u32, now: Millis) -> Counts {
        let mut counts = Counts::default();
        match &self.failure {
            Failure::Consecutive(c) => counts.consecutive_failures = c.failures(generation),
            Failure::Rate(r) => {
                let t = r.window.tally(generation, now);
                counts.window_calls = t.calls;
                counts.window_failures = t.marked;
            }
        }
        if let Some(r) = &self.slow {
            let t = r.window.tally(generation, now);
            counts.window_calls = t.calls;
            counts.window_slow = t.marked;
        }
        counts
    }
}

impl<T> Recorded<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Recorded<U> {
        match self {
            Recorded::Counted(trip) => Recorded::Counted(trip.map(f)),
            Recorded::Late => Recorded::Late,
        }
    }
}
