//! How arguments reach each attempt: owned ones are cloned for every attempt but the last, which
//! gets the original; `&mut` ones are lent again to each attempt; a `mut` one of a type the
//! compiler copies (a number, `bool`, `char`, a shared reference, a tuple or array of them) is
//! copied afresh for each attempt, so no attempt sees what an earlier one did to it.

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

/// Each attempt counts down its own copy of `budget` and `window`, and records them before and
/// after.
#[circuit_breaker(threshold = 10, attempts = 3, retry = "per_call", backoff = "10ms")]
async fn count_down(
    mut budget: u32,
    mut window: (u8, [i16; 2]),
    seen: &mut Vec<(u32, (u8, [i16; 2]))>,
) -> Result<u32, ApiError> {
    seen.push((budget, window));
    budget -= 1;
    window.0 += 1;
    window.1[1] -= 1;
    seen.push((budget, window));
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn each_attempt_copies_a_mut_copy_argument_afresh() {
    let mut seen = Vec::new();
    assert_eq!(
        count_down(7, (1, [0, 0]), &mut seen).await,
        Err(ApiError::Down)
    );
    let attempt = [(7, (1, [0, 0])), (6, (2, [0, -1]))];
    assert_eq!(seen, attempt.repeat(3));
}

/// The same for a blocking fn, whose attempts run in a loop.
#[circuit_breaker(threshold = 10, attempts = 3, retry = "per_attempt", backoff = "0ms")]
fn count_down_blocking(mut left: u64, seen: &mut Vec<u64>) -> Result<u64, ApiError> {
    seen.push(left);
    left -= 1;
    seen.push(left);
    Err(ApiError::Down)
}

#[test]
fn each_blocking_attempt_copies_a_mut_copy_argument_afresh() {
    let mut seen = Vec::new();
    assert_eq!(count_down_blocking(9, &mut seen), Err(ApiError::Down));
    assert_eq!(seen, [9, 8, 9, 8, 9, 8]);
}

/// A `mut` shared reference is such an argument too: each attempt starts from the caller's slice,
/// not from where the attempt before it moved it.
#[circuit_breaker(threshold = 10, attempts = 3, retry = "per_call", backoff = "10ms")]
async fn trim_one(mut rest: &str, seen: &mut Vec<String>) -> Result<(), ApiError> {
    seen.push(rest.to_owned());
    rest = &rest[1..];
    seen.push(rest.to_owned());
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn each_attempt_starts_from_a_mut_reference_argument_as_passed() {
    let mut seen = Vec::new();
    assert_eq!(trim_one("abc", &mut seen).await, Err(ApiError::Down));
    assert_eq!(seen, ["abc", "bc"].repeat(3));
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
