//! A small shop's outgoing calls, each behind a breaker, for the actuator to show: an inventory
//! lookup with its own breaker, and two payment calls sharing one.
//!
//! The backends are simulated in process; `tests/actuator.rs` uses this module as it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use breakerbox::{Rejected, TimedOut, Verdict, circuit_breaker, shared_breaker};

/// What the shop's calls fail with.
#[derive(Debug)]
pub enum ShopError {
    /// The backend is down.
    Unavailable,
    /// No such item: the caller's mistake, not the backend's.
    NotFound,
    /// The attempt missed its timeout.
    TimedOut(TimedOut),
    /// The breaker answered without calling the backend.
    Rejected(Rejected),
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShopError::Unavailable => f.write_str("the backend is unavailable"),
            ShopError::NotFound => f.write_str("no such item"),
            ShopError::TimedOut(t) => t.fmt(f),
            ShopError::Rejected(r) => r.fmt(f),
        }
    }
}

impl std::error::Error for ShopError {}

impl From<Rejected> for ShopError {
    fn from(r: Rejected) -> Self {
        ShopError::Rejected(r)
    }
}

impl From<TimedOut> for ShopError {
    fn from(t: TimedOut) -> Self {
        ShopError::TimedOut(t)
    }
}

/// A missing item says nothing about the backend's health.
fn classify(error: &ShopError) -> Verdict {
    match error {
        ShopError::NotFound => Verdict::Ignore,
        _ => Verdict::Transient,
    }
}

/// Units in stock of `sku`. The simulated backend fails for SKUs that are multiples of 10 and
/// knows no SKU 404.
#[circuit_breaker(name = "inventory", threshold = 3, reset = "30s", timeout = "2s", classify = classify)]
pub async fn stock(sku: u32) -> Result<u32, ShopError> {
    match sku {
        404 => Err(ShopError::NotFound),
        n if n % 10 == 0 => Err(ShopError::Unavailable),
        n => Ok(n % 7),
    }
}

/// The payments service, shared by [`charge`] and [`refund`].
#[shared_breaker(name = "payments", threshold = 2, reset = "1s..60s")]
pub static PAYMENTS: breakerbox::Breaker;

static PAYMENTS_DOWN: AtomicBool = AtomicBool::new(false);

/// Takes the simulated payments service down, or brings it back.
pub fn set_payments_down(down: bool) {
    PAYMENTS_DOWN.store(down, Ordering::Relaxed);
}

fn payments_up() -> Result<(), ShopError> {
    if PAYMENTS_DOWN.load(Ordering::Relaxed) {
        Err(ShopError::Unavailable)
    } else {
        Ok(())
    }
}

/// Charges `cents`; returns a receipt number.
#[circuit_breaker(shared = PAYMENTS, attempts = 3, retry = "per_call", backoff = "10ms", jitter = false, timeout = "1s")]
pub async fn charge(cents: u64) -> Result<u64, ShopError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    payments_up().map(|()| cents ^ 0x5eed)
}

/// Refunds `cents`.
#[circuit_breaker(shared = PAYMENTS, timeout = "1s")]
pub async fn refund(cents: u64) -> Result<u64, ShopError> {
    payments_up().map(|()| cents)
}
