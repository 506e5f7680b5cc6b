//! Feature `metrics`: counters and a state gauge per breaker, through the `metrics` facade, checked
//! with a recording recorder after a scripted sequence.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use breakerbox::{Rejected, TimedOut, Verdict, circuit_breaker, registry};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};

/// Remembers every counter and gauge by `name{breaker=...}`.
#[derive(Default)]
struct Recording {
    values: Mutex<BTreeMap<String, Arc<Value>>>,
}

#[derive(Default)]
struct Value(AtomicU64);

impl CounterFn for Value {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl GaugeFn for Value {
    fn increment(&self, _: f64) {
        unreachable!("breaker sets its gauge")
    }
    fn decrement(&self, _: f64) {
        unreachable!("breaker sets its gauge")
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl Recording {
    fn value(&self, key: &Key) -> Arc<Value> {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let id = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.values.lock().unwrap().entry(id).or_default())
    }

    fn counter(&self, name: &str, breaker: &str) -> u64 {
        let id = format!("{name}{{breaker={breaker}}}");
        self.values
            .lock()
            .unwrap()
            .get(&id)
            .map_or(u64::MAX, |v| v.0.load(Ordering::Relaxed))
    }

    fn gauge(&self, name: &str, breaker: &str) -> f64 {
        f64::from_bits(self.counter(name, breaker))
    }
}

impl Recorder for &'static Recording {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.value(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.value(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[derive(Debug, PartialEq)]
enum Error {
    Down,
    NotFound,
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

fn classify(e: &Error) -> Verdict {
    if *e == Error::NotFound {
        Verdict::Ignore
    } else {
        Verdict::Transient
    }
}

#[derive(Clone, Copy)]
enum Script {
    Ok,
    NotFound,
    FailThenOk,
    Slow,
}

#[circuit_breaker(
    name = "metrics.scripted",
    threshold = 2,
    reset = "1s",
    attempts = 2,
    retry = "per_attempt",
    backoff = "10ms",
    jitter = false,
    timeout = "100ms",
    classify = classify
)]
async fn scripted(script: Script, calls: &AtomicU64) -> Result<(), Error> {
    let n = calls.fetch_add(1, Ordering::Relaxed);
    match script {
        Script::Ok => Ok(()),
        Script::NotFound => Err(Error::NotFound),
        Script::FailThenOk if n.is_multiple_of(2) => Err(Error::Down),
        Script::FailThenOk => Ok(()),
        Script::Slow => {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            Ok(())
        }
    }
}

#[circuit_breaker(
    name = "metrics.budgeted",
    threshold = 1_000,
    attempts = 2,
    retry = "per_call",
    backoff = "10ms",
    jitter = false
)]
async fn budgeted() -> Result<(), Error> {
    Err(Error::Down)
}

#[circuit_breaker(
    name = "metrics.outer",
    threshold = 1_000,
    attempts = 2,
    retry = "per_call",
    backoff = "10ms"
)]
async fn outer() -> Result<(), Error> {
    budgeted().await
}

#[tokio::test(start_paused = true)]
async fn counters_and_gauge_after_a_scripted_sequence() {
    let recording: &'static Recording = Box::leak(Box::default());
    metrics::set_global_recorder(recording).expect("the only recorder of this binary");
    let calls = AtomicU64::new(0);

    assert_eq!(scripted(Script::Ok, &calls).await, Ok(()));
    assert_eq!(
        scripted(Script::NotFound, &calls).await,
        Err(Error::NotFound)
    );
    calls.store(0, Ordering::Relaxed);
    assert_eq!(scripted(Script::FailThenOk, &calls).await, Ok(()));
    // Two timeouts in a row: the second opens the breaker (threshold 2).
    assert_eq!(scripted(Script::Slow, &calls).await, Err(Error::TimedOut));
    assert_eq!(scripted(Script::Ok, &calls).await, Err(Error::Rejected));

    let name = "metrics.scripted";
    // Neither calls nor transitions touch the recorder: nothing is there before the export.
    assert_eq!(
        recording.counter("breaker_state", name),
        u64::MAX,
        "not exported yet"
    );
    assert_eq!(
        recording.counter("breaker_admitted_total", name),
        u64::MAX,
        "not exported yet"
    );

    registry().export_metrics();
    let expected = [
        ("breaker_admitted_total", 6),
        ("breaker_successes_total", 2),
        ("breaker_failures_total", 3),
        ("breaker_ignored_total", 1),
        ("breaker_rejected_total", 1),
        ("breaker_timeouts_total", 2),
        ("breaker_late_total", 0),
        ("breaker_retries_total", 2),
        ("breaker_retries_denied_total", 0),
        ("breaker_nested_single_total", 0),
        ("breaker_cancelled_total", 0),
    ];
    for (metric, value) in expected {
        assert_eq!(recording.counter(metric, name), value, "{metric}");
    }
    assert_eq!(
        recording.gauge("breaker_state", name),
        breakerbox::state_gauge(breakerbox::State::Open)
    );

    registry().get(name).unwrap().force_open();
    registry().export_metrics();
    assert_eq!(recording.gauge("breaker_state", name), 3.0);

    // A breaker built at run time is exported like the attribute's.
    let config = breakerbox::Config::builder("x").build().unwrap();
    let runtime = registry()
        .register(breakerbox::Breaker::new_named(
            String::from("metrics.runtime"),
            config,
        ))
        .unwrap();
    runtime.try_acquire().unwrap().success();
    runtime.disable();
    registry().export_metrics();
    assert_eq!(
        recording.counter("breaker_successes_total", "metrics.runtime"),
        1
    );
    assert_eq!(recording.gauge("breaker_state", "metrics.runtime"), 4.0);

    // The retry budget (R11): the floor grants 100 retries in 10 s, so of 150 failing calls made
    // one after another, the last 50 are denied theirs. Nested in a retrying fn (R12), each of 2
    // more calls makes one attempt, where it would have retried.
    for _ in 0..150 {
        assert_eq!(budgeted().await, Err(Error::Down));
    }
    assert_eq!(outer().await, Err(Error::Down));
    registry().export_metrics();
    let name = "metrics.budgeted";
    for (metric, value) in [
        ("breaker_admitted_total", 152),
        ("breaker_retries_total", 100),
        ("breaker_retries_denied_total", 50),
        ("breaker_nested_single_total", 2),
    ] {
        assert_eq!(recording.counter(metric, name), value, "{metric}");
    }
}
