//! R12 through the attribute: an annotated fn called inside an attempt of another, retrying one
//! makes a single attempt; the nesting is listed in the registry with its worst case per outer
//! call; a task spawned from the attempt retries as written. (The `nested = "retry"` key is
//! checked in `attribute_load_bound.rs`.)

use std::sync::atomic::{AtomicU32, Ordering};

use breakerbox::{NestingEdge, Rejected, circuit_breaker, in_scope, registry};

#[derive(Debug, PartialEq)]
pub enum Error {
    Down,
    Rejected,
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

// Each test has fns, breakers and a request counter of its own: the tests run in parallel.

/// Counts a request to the failing service, and fails.
fn request(sent: &AtomicU32) -> Result<(), Error> {
    sent.fetch_add(1, Ordering::SeqCst);
    Err(Error::Down)
}

fn take(sent: &AtomicU32) -> u32 {
    sent.swap(0, Ordering::SeqCst)
}

static INNER_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "nesting.inner",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn inner() -> Result<(), Error> {
    request(&INNER_SENT)
}

static SINGLE_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "nesting.single", threshold = 1000)]
async fn single() -> Result<(), Error> {
    request(&SINGLE_SENT)
}

static SPAWNED_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "nesting.spawned",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn spawned() -> Result<(), Error> {
    request(&SPAWNED_SENT)
}

#[circuit_breaker(
    name = "nesting.outer",
    threshold = 1000,
    attempts = 3,
    retry = "per_attempt",
    backoff = "10ms"
)]
async fn outer() -> Result<(), Error> {
    inner().await
}

#[circuit_breaker(
    name = "nesting.outer_of_single",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn outer_of_single() -> Result<(), Error> {
    single().await
}

#[circuit_breaker(
    name = "nesting.spawner",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms"
)]
async fn spawner(carry: bool) -> Result<(), Error> {
    let task = if carry {
        tokio::spawn(in_scope(spawned()))
    } else {
        tokio::spawn(spawned())
    };
    task.await.expect("the inner call does not panic")
}

static SYNC_SENT: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(
    name = "nesting.sync_inner",
    threshold = 1000,
    attempts = 3,
    retry = "per_attempt",
    backoff = "0ms"
)]
fn sync_inner() -> Result<(), Error> {
    request(&SYNC_SENT)
}

#[circuit_breaker(
    name = "nesting.sync_outer",
    threshold = 1000,
    attempts = 3,
    retry = "per_call",
    backoff = "0ms"
)]
fn sync_outer() -> Result<(), Error> {
    sync_inner()
}

/// The edge whose two ends are these breakers' fns.
fn edge(outer: &str, inner: &str) -> &'static NestingEdge {
    registry()
        .edges()
        .find(|e| e.outer().breaker().name() == outer && e.inner().breaker().name() == inner)
        .unwrap_or_else(|| panic!("no edge {outer} -> {inner}"))
}

#[tokio::test(start_paused = true)]
async fn outer_3_attempts_inner_3_attempts_is_3_requests_per_outer_call() {
    // Called on its own, the inner fn retries as written.
    assert_eq!(inner().await, Err(Error::Down));
    assert_eq!(take(&INNER_SENT), 3);
    for _ in 0..2 {
        assert_eq!(outer().await, Err(Error::Down));
        assert_eq!(take(&INNER_SENT), 3);
    }
    let e = edge("nesting.outer", "nesting.inner");
    assert!(e.outer().function().ends_with("::outer"), "{e:?}");
    assert!(e.inner().function().ends_with("::inner"), "{e:?}");
    assert_eq!((e.worst_case(), e.suppressed()), (3, 6));
    // Its breaker counts the retries it made alone, and the 6 calls cut to one attempt.
    let m = registry().get("nesting.inner").unwrap().metrics();
    assert_eq!((m.retries, m.nested_single), (2, 6));
    let table = registry().to_string();
    let row = table
        .lines()
        .find(|l| l.contains("::outer -> "))
        .unwrap_or_else(|| panic!("no edge row in\n{table}"));
    assert!(row.ends_with("3 requests                   6"), "{table}");
}

#[tokio::test(start_paused = true)]
async fn a_fn_of_one_attempt_is_recorded_inside_a_retrying_one() {
    assert_eq!(outer_of_single().await, Err(Error::Down));
    assert_eq!(take(&SINGLE_SENT), 3);
    let e = edge("nesting.outer_of_single", "nesting.single");
    assert_eq!((e.worst_case(), e.suppressed()), (3, 0));
}

#[tokio::test(start_paused = true)]
async fn a_spawned_inner_call_retries_as_written_unless_the_scope_is_carried() {
    assert_eq!(spawner(false).await, Err(Error::Down));
    assert_eq!(
        take(&SPAWNED_SENT),
        9,
        "3 outer attempts x 3 inner attempts"
    );
    assert!(
        registry()
            .edges()
            .all(|e| e.outer().breaker().name() != "nesting.spawner"),
        "a spawned task is not nested"
    );
    assert_eq!(spawner(true).await, Err(Error::Down));
    assert_eq!(take(&SPAWNED_SENT), 3);
    assert_eq!(edge("nesting.spawner", "nesting.spawned").worst_case(), 3);
}

#[test]
fn sync_fns_nest_the_same_way() {
    assert_eq!(sync_inner(), Err(Error::Down));
    assert_eq!(take(&SYNC_SENT), 3);
    assert_eq!(sync_outer(), Err(Error::Down));
    assert_eq!(take(&SYNC_SENT), 3);
    assert_eq!(
        edge("nesting.sync_outer", "nesting.sync_inner").worst_case(),
        3
    );
}
