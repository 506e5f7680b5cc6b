//! The `tracing` output is part of the API: transition events (target `breakerbox`, WARN when a
//! breaker opens, INFO otherwise, fields `breaker`, `from`, `to`, `reason`), one DEBUG span per
//! attempt (`breaker.attempt`, fields `breaker`, `attempt`, `attempts`), and two DEBUG events: a
//! retry the budget denied (fields `breaker`, `retries`, `first_attempts`, `allowed`,
//! `budget_percent`) and a nesting recorded (fields `outer`, `inner`, `worst_case`). Checked with a
//! capturing subscriber.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use breakerbox::{Rejected, circuit_breaker};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event or span as captured: level, target, name and its fields as text.
#[derive(Debug, Clone, PartialEq)]
struct Captured {
    kind: &'static str,
    level: Level,
    target: String,
    name: String,
    fields: Vec<(String, String)>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

#[derive(Clone, Default)]
struct Capture {
    seen: Arc<Mutex<Vec<Captured>>>,
    next_id: Arc<AtomicU64>,
    /// Span ids in the order they were entered.
    entered: Arc<Mutex<Vec<u64>>>,
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields::default();
        span.record(&mut fields);
        let meta = span.metadata();
        self.seen.lock().unwrap().push(Captured {
            kind: "span",
            level: *meta.level(),
            target: meta.target().to_owned(),
            name: meta.name().to_owned(),
            fields: fields.0,
        });
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        self.seen.lock().unwrap().push(Captured {
            kind: "event",
            level: *meta.level(),
            target: meta.target().to_owned(),
            name: meta.name().to_owned(),
            fields: fields.0,
        });
    }
    fn enter(&self, id: &Id) {
        self.entered.lock().unwrap().push(id.into_u64());
    }
    fn exit(&self, _: &Id) {}
}

#[derive(Debug)]
pub struct Down;

impl From<Rejected> for Down {
    fn from(_: Rejected) -> Self {
        Down
    }
}

#[circuit_breaker(
    name = "traced",
    threshold = 2,
    attempts = 2,
    retry = "per_attempt",
    backoff = "0ms"
)]
fn traced() -> Result<(), Down> {
    Err(Down)
}

#[test]
fn transitions_and_attempts_are_traced_with_stable_names_and_fields() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let _ = traced(); // two failed attempts: the second opens the breaker
        breakerbox::registry().get("traced").unwrap().reset();
    });
    let seen = capture.seen.lock().unwrap().clone();

    let spans: Vec<&Captured> = seen.iter().filter(|c| c.kind == "span").collect();
    assert_eq!(spans.len(), 2, "one span per attempt: {seen:#?}");
    for (i, span) in spans.iter().enumerate() {
        assert_eq!(
            (span.name.as_str(), span.level, span.target.as_str()),
            ("breaker.attempt", Level::DEBUG, "breakerbox")
        );
        assert_eq!(span.field("breaker"), Some("traced"));
        assert_eq!(span.field("attempt"), Some((i + 1).to_string().as_str()));
        assert_eq!(span.field("attempts"), Some("2"));
    }

    let events: Vec<&Captured> = seen
        .iter()
        .filter(|c| c.kind == "event" && c.target == "breakerbox")
        .collect();
    assert_eq!(events.len(), 2, "{seen:#?}");
    let (opened, reset) = (events[0], events[1]);
    assert_eq!(opened.level, Level::WARN);
    assert_eq!(opened.field("breaker"), Some("traced"));
    assert_eq!(opened.field("from"), Some("closed"));
    assert_eq!(opened.field("to"), Some("open"));
    assert_eq!(opened.field("reason"), Some("consecutive_failures"));
    assert_eq!(
        opened.field("message"),
        Some("circuit breaker opened: 2 failures in a row")
    );
    assert_eq!(reset.level, Level::INFO);
    assert_eq!(
        (
            reset.field("from"),
            reset.field("to"),
            reset.field("reason")
        ),
        (Some("open"), Some("closed"), Some("reset"))
    );
}

#[circuit_breaker(
    name = "traced_async",
    attempts = 2,
    retry = "per_call",
    backoff = "0ms"
)]
async fn traced_async(polls: &AtomicU64) -> Result<(), Down> {
    // Yield once, so the attempt is polled (and its span entered) twice.
    if polls.fetch_add(1, Ordering::Relaxed).is_multiple_of(2) {
        tokio::task::yield_now().await;
    }
    Err(Down)
}

#[test]
fn async_attempts_run_inside_their_span() {
    let capture = Capture::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    tracing::subscriber::with_default(capture.clone(), || {
        let polls = AtomicU64::new(0);
        let _ = runtime.block_on(traced_async(&polls));
        assert_eq!(polls.load(Ordering::Relaxed), 2, "two attempts");
    });
    let seen = capture.seen.lock().unwrap().clone();
    let spans: Vec<&Captured> = seen.iter().filter(|c| c.kind == "span").collect();
    assert_eq!(spans.len(), 2, "{seen:#?}");
    assert_eq!(spans[1].field("attempt"), Some("2"));
    // The first attempt yields once: its span (id 1) is entered on both of its polls; the second
    // attempt's span (id 2) once.
    assert_eq!(*capture.entered.lock().unwrap(), [1, 1, 2]);
}

#[circuit_breaker(
    name = "traced_budget",
    threshold = 1000,
    attempts = 2,
    retry = "per_call",
    backoff = "10ms"
)]
async fn traced_budget() -> Result<(), Down> {
    Err(Down)
}

#[circuit_breaker(
    name = "traced_outer",
    threshold = 1000,
    attempts = 2,
    retry = "per_call",
    backoff = "10ms"
)]
async fn traced_outer() -> Result<(), Down> {
    traced_budget().await
}

/// A retry the budget denies says why at DEBUG (R11); a nesting is announced once at DEBUG, when
/// first recorded (R12).
#[test]
fn a_denied_retry_and_a_new_nesting_are_traced_at_debug() {
    let capture = Capture::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    tracing::subscriber::with_default(capture.clone(), || {
        runtime.block_on(async {
            // The floor: 100 retries in 10 s; the 101st call's retry is denied.
            for _ in 0..101 {
                let _ = traced_budget().await;
            }
            let _ = traced_outer().await;
            let _ = traced_outer().await;
        });
    });
    let seen = capture.seen.lock().unwrap().clone();
    let events: Vec<&Captured> = seen
        .iter()
        .filter(|c| c.kind == "event" && c.level == Level::DEBUG)
        .collect();
    let [denied, nested] = events[..] else {
        panic!("two DEBUG events: {events:#?}");
    };
    assert_eq!(denied.target, "breakerbox");
    assert_eq!(
        (
            denied.field("breaker"),
            denied.field("retries"),
            denied.field("first_attempts"),
            denied.field("allowed"),
            denied.field("budget_percent"),
        ),
        (
            Some("traced_budget"),
            Some("100"),
            Some("101"),
            Some("100"),
            Some("20")
        )
    );
    assert_eq!(
        denied.field("message"),
        Some(
            "retry denied by the retry budget: 100 retries in the last 10s already, of 100 \
             allowed (20% of 101 first attempts, or 10 per second)"
        )
    );
    assert_eq!(nested.target, "breakerbox");
    assert!(
        nested
            .field("outer")
            .is_some_and(|f| f.ends_with("::traced_outer")),
        "{nested:?}"
    );
    assert!(
        nested
            .field("inner")
            .is_some_and(|f| f.ends_with("::traced_budget")),
        "{nested:?}"
    );
    assert_eq!(nested.field("worst_case"), Some("2"));
}
