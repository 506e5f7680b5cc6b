//! The facade's public surface, named item by item: a change to it (an item gone, renamed or
//! retyped) fails to compile here, and shows in review. The retry driver the expansion uses is
//! not part of it (`tests/ui/types/driver_is_private.rs`).

#![allow(dead_code, clippy::type_complexity)]

use std::sync::Arc;
use std::time::Duration;

use breakerbox::{
    BUDGET_MIN_PER_SECOND, BUDGET_WINDOW, Backoff, Breaker, BreakerSnapshot, Budget, CallPolicy,
    CallPolicyBuilder, CallSite, Config, ConfigBuilder, ConfigError, DEFAULT_BACKOFF,
    DuplicateName, DuplicateNames, EVENTS_CAPACITY, EnteredScope, Events, Granularity, InScope,
    Injectable, Lagged, Location, MAX_ATTEMPTS, MAX_COUNT_WINDOW, MAX_PROBES, MIN_TIME_WINDOW,
    Metrics, Name, Nested, NestingEdge, NestingScope, OwnedPermit, Permit, Reason, Registry,
    Rejected, Reset, RestoreError, SNAPSHOT_FORMAT, SlowCalls, Snapshot, State, TimedOut,
    Transition, TripPolicy, Verdict, Window, circuit_breaker, in_scope, registry, shared_breaker,
};

/// DESIGN's API, with the types it promises.
#[test]
fn designs_api() {
    let _: fn() -> &'static Registry = registry;
    let _: fn(&Registry, &str) -> Option<&'static Breaker> = Registry::get;
    let _: fn(&Registry) -> Events = Registry::subscribe;
    let _: fn(&Breaker) -> &str = Breaker::name;
    let _: fn(&Breaker) -> State = Breaker::state;
    let _: fn(&Breaker) -> Metrics = Breaker::metrics;
    let _: fn(&Breaker) -> &[CallSite] = Breaker::call_sites;
    let _: fn(&Breaker) = Breaker::force_open;
    let _: fn(&Breaker) = Breaker::disable;
    let _: fn(&Breaker) = Breaker::reset;
    let _: fn(&Rejected) -> &str = Rejected::breaker;
    let _: fn(&Rejected) -> Option<Duration> = Rejected::retry_after;
    let _: fn(&TimedOut) -> Duration = TimedOut::after;
    let states = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::Disabled,
    ];
    assert_eq!(states.len(), 5);
    let _ = [Verdict::Transient, Verdict::Permanent, Verdict::Ignore];
    fn error<E: std::error::Error + std::fmt::Display + Clone + Send + Sync + 'static>() {}
    error::<Rejected>();
    error::<TimedOut>();
    // Every breaker, iterated and dereferenced to a `Breaker`.
    let _: Vec<&Breaker> = registry().iter().collect();
    let _: String = registry().to_string();
}

/// What building breakers and calls by hand needs.
#[test]
fn the_programmatic_api() {
    let _: fn(&'static str) -> ConfigBuilder = Config::builder;
    let _: fn(ConfigBuilder) -> Result<Config, ConfigError> = ConfigBuilder::build;
    let _: fn(Config) -> Breaker = Breaker::new;
    let _: fn(String, Config) -> Breaker = Breaker::new_named;
    let _: fn(&Breaker) -> Result<Permit<'_>, Rejected> = Breaker::try_acquire;
    let _: fn(&Arc<Breaker>) -> Result<OwnedPermit, Rejected> = Breaker::acquire_owned;
    let _: fn(&Registry, Breaker) -> Result<&'static Breaker, DuplicateNames> = Registry::register;
    let _: fn(&Registry) -> Result<(), DuplicateNames> = Registry::check;
    let _: fn(&Registry) -> Snapshot = Registry::snapshot;
    let _: fn(&Registry, &Snapshot) -> Result<(), RestoreError> = Registry::restore;
    let _: fn() -> CallPolicyBuilder = CallPolicy::builder;
    let _: fn(CallPolicyBuilder) -> Result<CallPolicy, ConfigError> = CallPolicyBuilder::build;
    let _: fn(Permit<'static>) = Permit::success;
    let _: fn(Permit<'static>, Verdict) = Permit::record;
    let _: fn(OwnedPermit) = OwnedPermit::success;
    let _: fn(&Transition) -> u32 = |t| t.generation;
    let _: fn(&Transition) -> &Name = |t| &t.breaker;
    let _: Option<(&DuplicateName, &Location)> = None;
    let _: Option<(&BreakerSnapshot, Lagged, Reason)> = None;
    let _ = (
        Granularity::PerAttempt,
        Granularity::PerCall,
        Nested::Single,
        Nested::Retry,
    );
    let _ = (Budget::DEFAULT, Budget::Off, Budget::Percent(20));
    let _ = (
        Reset::Fixed(Duration::ZERO),
        Window::Count(1),
        Backoff::Fixed(Duration::ZERO),
    );
    let _: Option<(TripPolicy, SlowCalls)> = None;
    // The load bound: budgets and nesting.
    let _: Option<(
        &NestingEdge,
        &NestingScope,
        &EnteredScope,
        InScope<std::future::Ready<()>>,
    )> = None;
    drop(in_scope(std::future::ready(())));
    let _: Vec<&'static NestingEdge> = registry().edges().collect();
    let _ = (
        BUDGET_WINDOW,
        BUDGET_MIN_PER_SECOND,
        DEFAULT_BACKOFF,
        EVENTS_CAPACITY,
    );
    let _ = (
        MAX_ATTEMPTS,
        MAX_COUNT_WINDOW,
        MAX_PROBES,
        MIN_TIME_WINDOW,
        SNAPSHOT_FORMAT,
    );
    #[cfg(feature = "metrics")]
    let _: fn(State) -> f64 = breakerbox::state_gauge;
    fn injectable<E: Injectable>() {}
    injectable::<Rejected>();
}

/// The test kit, with feature `testing`.
#[cfg(feature = "testing")]
#[test]
fn the_test_kit() {
    use breakerbox::testing::{self, Isolation, Jitter, Target};

    let _: fn() -> Isolation = testing::isolate;
    let _: fn() = testing::reset_all;
    let _: fn() = testing::clear_faults;
    let _: fn(Jitter) = testing::set_jitter;
    let _ = [Jitter::Random, Jitter::Max, Jitter::Min];
    let _: fn(&'static Breaker, u32, fn() -> Error) = testing::fail_next;
    let _: fn(&'static str) -> u32 = testing::faults_left;
    let _: Option<Target<'_>> = Some(Target::from("name"));
    let _: Option<Target<'_>> = Some(Target::from(&SURFACE));
    let _: Option<Target<'_>> = None::<&Arc<Breaker>>.map(Target::from);
    let _: Option<Target<'_>> = None::<&String>.map(Target::from);
}

/// The attributes.
#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[shared_breaker(threshold = 3)]
static SURFACE: Breaker;

#[circuit_breaker(shared = SURFACE)]
fn annotated() -> Result<(), Error> {
    Ok(())
}

#[test]
fn the_attributes() {
    annotated().unwrap();
    assert_eq!(SURFACE.metrics().successes, 1);
}
