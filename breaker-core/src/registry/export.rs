//! Counters and a state gauge per breaker through the `metrics` facade (feature `metrics`).
//!
//! | metric                      | kind    | meaning                                         |
//! |-----------------------------|---------|-------------------------------------------------|
//! | `breaker_admitted_total`    | counter | calls (or attempts) let through                 |
//! | `breaker_successes_total`   | counter | recorded successes                              |
//! | `breaker_failures_total`    | counter | recorded failures, timeouts included            |
//! | `breaker_ignored_total`     | counter | errors classified `Ignore`                      |
//! | `breaker_rejected_total`    | counter | calls refused without running                   |
//! | `breaker_timeouts_total`    | counter | attempts that missed their `timeout`            |
//! | `breaker_late_total`        | counter | outcomes dropped as late (R5)                   |
//! | `breaker_retries_total`     | counter | attempts beyond the first                       |
//! | `breaker_retries_denied_total` | counter | retries the retry budget did not allow (R11) |
//! | `breaker_nested_single_total`  | counter | calls cut to one attempt by nesting, that would have retried (R12) |
//! | `breaker_cancelled_total`   | counter | admitted calls dropped before their outcome     |
//! | `breaker_state`             | gauge   | 0 closed, 1 open, 2 half-open, 3 forced open, 4 disabled |
//!
//! Every metric carries the label `breaker` with the breaker's name. All of them are published by
//! [`Registry::export_metrics`] from the counts and states the breakers keep anyway, so neither a
//! call nor a transition touches the recorder (registering a labelled metric allocates). A
//! [`Breaker::reset`] starts every count again from zero, which the counters show as a counter
//! reset (as after a restart).

use crate::{Breaker, Registry, State};

/// The value of the `breaker_state` gauge for a state.
pub const fn state_gauge(state: State) -> f64 {
    match state {
        State::Closed => 0.0,
        State::Open => 1.0,
        State::HalfOpen => 2.0,
        State::ForcedOpen => 3.0,
        State::Disabled => 4.0,
    }
}

impl Registry {
    /// Publishes every breaker's counts and state to the installed `metrics` recorder. Call it
    /// before a scrape is rendered (or on a timer); it reads counts the breakers keep anyway, so
    /// calls pay nothing for the export.
    pub fn export_metrics(&self) {
        self.iter().for_each(export);
    }
}

fn export(breaker: &'static Breaker) {
    let name = breaker.name();
    let m = breaker.metrics();
    for (metric, value) in [
        ("breaker_admitted_total", m.admitted),
        ("breaker_successes_total", m.successes),
        ("breaker_failures_total", m.failures),
        ("breaker_ignored_total", m.ignored),
        ("breaker_rejected_total", m.rejected),
        ("breaker_timeouts_total", m.timeouts),
        ("breaker_late_total", m.late),
        ("breaker_retries_total", m.retries),
        ("breaker_retries_denied_total", m.retries_denied),
        ("breaker_nested_single_total", m.nested_single),
        ("breaker_cancelled_total", m.cancelled),
    ] {
        metrics::counter!(metric, "breaker" => name).absolute(value);
    }
    metrics::gauge!("breaker_state", "breaker" => name).set(state_gauge(breaker.state()));
}
