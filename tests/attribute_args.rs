//! How arguments reach each attempt: owned ones are cloned for every attempt but the last, which
//! gets the original; `&mut` ones are lent again to each attempt.

use std::sync::atomic::{AtomicU32, Ordering};

use breakerbox::{Rejected, circuit_breaker};

#[derive(Debug, PartialEq)]
enum ApiError {
    Down,
    Rejected(Rejected),
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Rejected(r)
    }
}

static CLONES: AtomicU32 = AtomicU32::new(0);

/// A request body that counts its clones and knows whether it is the caller's original.
#[derive(Debug)]
struct Payload {
    original: bool,
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, Ordering::Relaxed);
        Payload { original: false }
    }
}

#[circuit_breaker(threshold = 10, attempts = 3, retry = "per_call", backoff = "10ms")]
async fn send(payload: Payload, seen: &mut Vec<bool>) -> Result<(), ApiError> {
    seen.push(payload.original);
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn clones_for_every_attempt_but_the_last() {
    let mut seen = Vec::new();
    assert_eq!(
        send(Payload { original: true }, &mut seen).await,
        Err(ApiError::Down)
    );
    assert_eq!(seen, [false, false, true]);
    assert_eq!(CLONES.load(Ordering::Relaxed), 2);
}

static SYNC_RUNS: AtomicU32 = AtomicU32::new(0);

/// A blocking fn that retries at once (`backoff = "0ms"`), so the test never sleeps.
#[circuit_breaker(threshold = 10, attempts = 3, retry = "per_attempt", backoff = "0ms")]
fn parse_blocking(text: String, log: &mut Vec<String>) -> Result<u32, ApiError> {
    let run = SYNC_RUNS.fetch_add(1, Ordering::Relaxed) + 1;
    log.push(text.clone());
    if run < 3 {
        return Err(ApiError::Down);
    }
    text.parse().map_err(|_| ApiError::Down)
}

#[test]
fn blocking_fn_retries_with_its_arguments() {
    let mut log = Vec::new();
    assert_eq!(parse_blocking("42".to_owned(), &mut log), Ok(42));
    assert_eq!(log, ["42", "42", "42"]);
    assert_eq!(SYNC_RUNS.load(Ordering::Relaxed), 3);
}

/// One attempt: the argument is moved in as is, `Clone` or not.
#[circuit_breaker(threshold = 10)]
async fn consume(payload: NotClone) -> Result<u32, ApiError> {
    let NotClone(n) = payload;
    Ok(n)
}

struct NotClone(u32);

#[tokio::test(start_paused = true)]
async fn single_attempt_moves_arguments() {
    assert_eq!(consume(NotClone(5)).await, Ok(5));
}
