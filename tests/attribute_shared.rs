//! One `#[shared_breaker]` counting the failures of every fn that uses it.

use std::sync::atomic::{AtomicU32, Ordering};

use breakerbox::{Rejected, State, circuit_breaker, shared_breaker};

#[derive(Debug, Clone, PartialEq)]
enum PayError {
    Down,
    Rejected(Rejected),
}

impl From<Rejected> for PayError {
    fn from(r: Rejected) -> Self {
        PayError::Rejected(r)
    }
}

/// The payments service, whichever endpoint is called.
#[shared_breaker(threshold = 4, reset = "30s")]
pub static PAYMENTS: breakerbox::Breaker;

static RUNS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(shared = PAYMENTS, attempts = 2, retry = "per_call", backoff = "10ms")]
async fn charge(amount: u64) -> Result<u64, PayError> {
    RUNS.fetch_add(1, Ordering::Relaxed);
    let _ = amount;
    Err(PayError::Down)
}

#[circuit_breaker(shared = PAYMENTS)]
fn refund(amount: u64) -> Result<u64, PayError> {
    RUNS.fetch_add(1, Ordering::Relaxed);
    let _ = amount;
    Err(PayError::Down)
}

#[tokio::test(start_paused = true)]
async fn two_fns_open_one_breaker() {
    assert_eq!(PAYMENTS.call_sites().len(), 2);
    assert_eq!(charge(10).await, Err(PayError::Down)); // 2 requests, 1 failure (per_call)
    assert_eq!(refund(10), Err(PayError::Down));
    assert_eq!(charge(10).await, Err(PayError::Down));
    assert_eq!(PAYMENTS.state(), State::Closed);
    assert_eq!(PAYMENTS.metrics().consecutive_failures, 3);
    assert_eq!(refund(10), Err(PayError::Down)); // the fourth failure, from either fn, opens it
    assert_eq!(PAYMENTS.state(), State::Open);
    assert_eq!(RUNS.load(Ordering::Relaxed), 6);
    // Both are refused now, without running.
    assert!(
        matches!(charge(10).await, Err(PayError::Rejected(r)) if r.breaker() == PAYMENTS.name())
    );
    assert!(matches!(refund(10), Err(PayError::Rejected(_))));
    assert_eq!(RUNS.load(Ordering::Relaxed), 6);
    assert_eq!(PAYMENTS.metrics().rejected, 2);
    assert_eq!(PAYMENTS.name(), concat!(module_path!(), "::PAYMENTS"));
}
