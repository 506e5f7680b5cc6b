//! The attribute checks its values at compile time against `breaker-macros/src/limits.rs`; the
//! runtime compiles the same file (a symlink in `breaker-core/src/`) and checks them again, and
//! fills in the defaults, at run time. This test reads the file and asks the runtime's builders:
//! a builder that checked a literal of its own instead would fail here.

#[path = "../breaker-macros/src/limits.rs"]
mod limits;

use std::time::Duration;

use breakerbox::{Backoff, Budget, CallPolicy, Config, Reset, TripPolicy, Window};

#[test]
fn the_runtime_has_the_attributes_limits() {
    assert_eq!(breakerbox::MAX_COUNT_WINDOW, limits::MAX_COUNT_WINDOW);
    assert_eq!(breakerbox::MIN_TIME_WINDOW, limits::MIN_TIME_WINDOW);
    assert_eq!(breakerbox::MAX_ATTEMPTS, limits::MAX_ATTEMPTS);
    assert_eq!(breakerbox::BUDGET_WINDOW, limits::BUDGET_WINDOW);
    assert_eq!(
        breakerbox::BUDGET_MIN_PER_SECOND,
        limits::BUDGET_MIN_PER_SECOND
    );

    let probes = |n| Config::builder("probes").probes(n).build();
    assert!(probes(limits::MAX_PROBES).is_ok());
    assert!(probes(limits::MAX_PROBES + 1).is_err());
    let attempts = |n| CallPolicy::builder().attempts(n).build();
    assert!(attempts(limits::MAX_ATTEMPTS + 1).is_err());
    let rate = |percent| Config::builder("rate").failure_rate(percent).build();
    assert!(rate(limits::MAX_PERCENT).is_ok());
    assert!(rate(limits::MAX_PERCENT + 1).is_err());
    let budget = |percent| {
        Config::builder("budget")
            .budget(Budget::Percent(percent))
            .build()
    };
    assert!(budget(limits::MAX_PERCENT).is_ok());
    assert!(budget(limits::MAX_PERCENT + 1).is_err());
    let time_window = |d| {
        Config::builder("window")
            .failure_rate(50)
            .window(Window::Time(d))
            .build()
    };
    assert!(time_window(limits::MIN_TIME_WINDOW).is_ok());
    assert!(time_window(limits::MIN_TIME_WINDOW - Duration::from_millis(1)).is_err());
}

#[test]
fn the_runtime_has_the_attributes_defaults() {
    let config = Config::builder("defaults").build().unwrap();
    assert_eq!(
        config.policy(),
        TripPolicy::Consecutive {
            threshold: limits::DEFAULT_THRESHOLD
        }
    );
    assert_eq!(config.reset(), Reset::Fixed(limits::DEFAULT_RESET));
    assert_eq!(config.probes(), limits::DEFAULT_PROBES);
    assert_eq!(
        config.budget(),
        Budget::Percent(limits::DEFAULT_BUDGET_PERCENT)
    );
    assert_eq!(Budget::DEFAULT, config.budget());

    let rated = Config::builder("rated").failure_rate(50).build().unwrap();
    assert_eq!(
        rated.policy(),
        TripPolicy::FailureRate {
            percent: 50,
            window: Window::Count(limits::DEFAULT_WINDOW),
            min_calls: limits::DEFAULT_MIN_CALLS,
        }
    );

    assert_eq!(
        breakerbox::DEFAULT_BACKOFF,
        Backoff::Exponential {
            start: limits::DEFAULT_BACKOFF_START,
            cap: limits::DEFAULT_BACKOFF_CAP,
        }
    );
    assert_eq!(CallPolicy::SINGLE.backoff(), breakerbox::DEFAULT_BACKOFF);
}
