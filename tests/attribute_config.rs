//! The attribute builds its breaker's `Config` and its fn's `CallPolicy` from the final values it
//! checked, defaults filled in, without the builders: every key, and every default, must come out
//! as the builders make it from the same values.

use std::time::Duration;

use breakerbox::{
    Backoff, Breaker, Budget, CallPolicy, CallPolicyBuilder, Config, ConfigBuilder, Granularity,
    Nested, Rejected, Reset, TimedOut, Window, circuit_breaker, shared_breaker,
};

#[derive(Debug)]
pub enum Error {
    Rejected,
    TimedOut,
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

#[circuit_breaker(name = "config.defaults")]
pub async fn defaults() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(
    name = "config.consecutive",
    threshold = 3,
    reset = "250ms",
    probes = 2,
    attempts = 4,
    retry = "per_attempt",
    backoff = "20ms",
    jitter = false,
    timeout = "1s",
    nested = "retry"
)]
pub async fn consecutive() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(
    name = "config.rate",
    failure_rate = 50,
    reset = "1s..1m",
    budget = "off",
    attempts = 3,
    retry = "per_call"
)]
pub fn rate() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(
    name = "config.slow",
    failure_rate = 25,
    slow = "2s",
    slow_rate = 40,
    window = "1m",
    min_calls = 5,
    budget = "35%",
    attempts = 2,
    retry = "per_call",
    backoff = "5ms..5ms"
)]
pub fn slow() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(name = "config.slow_only", slow = "500ms", slow_rate = 10, window = 50)]
pub fn slow_only() -> Result<(), Error> {
    Ok(())
}

#[shared_breaker(name = "config.shared", failure_rate = 60, window = 40, min_calls = 40)]
pub static SHARED: Breaker;

const fn built(builder: ConfigBuilder) -> Config {
    match builder.build() {
        Ok(config) => config,
        Err(_) => panic!("invalid configuration"),
    }
}

const fn built_policy(builder: CallPolicyBuilder) -> CallPolicy {
    match builder.build() {
        Ok(policy) => policy,
        Err(_) => panic!("invalid policy"),
    }
}

/// The breaker's configuration, against the builder's from `builder` at the same location; and
/// its one call site's policy, against `policy`.
fn check(name: &str, builder: ConfigBuilder, policy: Option<CallPolicyBuilder>) {
    let breaker = breakerbox::registry().get(name).expect("registered");
    let location = breaker.config().location().expect("a location");
    assert!(location.file.ends_with("attribute_config.rs"));
    assert_eq!(
        *breaker.config(),
        built(builder.location(location.file, location.line)),
        "{name}"
    );
    if let Some(policy) = policy {
        let sites = breaker.call_sites();
        assert_eq!(sites.len(), 1, "{name}");
        assert_eq!(*sites[0].policy(), built_policy(policy), "{name}");
    }
}

#[test]
fn defaults_are_the_builders() {
    check(
        "config.defaults",
        Config::builder("config.defaults"),
        Some(CallPolicy::builder()),
    );
}

#[test]
fn every_key_is_the_builders() {
    check(
        "config.consecutive",
        Config::builder("config.consecutive")
            .threshold(3)
            .reset(Reset::Fixed(Duration::from_millis(250)))
            .probes(2),
        Some(
            CallPolicy::builder()
                .attempts(4)
                .retry(Granularity::PerAttempt)
                .backoff(Backoff::Fixed(Duration::from_millis(20)))
                .jitter(false)
                .timeout(Duration::from_secs(1))
                .nested(Nested::Retry),
        ),
    );
    check(
        "config.rate",
        Config::builder("config.rate")
            .failure_rate(50)
            .reset(Reset::Backoff {
                min: Duration::from_secs(1),
                max: Duration::from_secs(60),
            })
            .budget(Budget::Off),
        Some(
            CallPolicy::builder()
                .attempts(3)
                .retry(Granularity::PerCall),
        ),
    );
    check(
        "config.slow",
        Config::builder("config.slow")
            .failure_rate(25)
            .slow(Duration::from_secs(2))
            .slow_rate(40)
            .window(Window::Time(Duration::from_secs(60)))
            .min_calls(5)
            .budget(Budget::Percent(35)),
        Some(
            CallPolicy::builder()
                .attempts(2)
                .retry(Granularity::PerCall)
                .backoff(Backoff::Exponential {
                    start: Duration::from_millis(5),
                    cap: Duration::from_millis(5),
                }),
        ),
    );
    check(
        "config.slow_only",
        Config::builder("config.slow_only")
            .slow(Duration::from_millis(500))
            .slow_rate(10)
            .window(Window::Count(50)),
        Some(CallPolicy::builder()),
    );
    check(
        "config.shared",
        Config::builder("config.shared")
            .failure_rate(60)
            .window(Window::Count(40))
            .min_calls(40),
        None,
    );
}
