//! A `#[shared_breaker]` static used by two fns, with its docs and visibility kept.
use breakerbox::{circuit_breaker, shared_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

/// The payments service.
#[shared_breaker(failure_rate = 50, window = "60s", reset = "1s..60s")]
pub static PAYMENTS: breakerbox::Breaker;

mod nested {
    #[breakerbox::shared_breaker(name = "ledger", threshold = 2)]
    pub(crate) static LEDGER: breakerbox::Breaker;
}

#[circuit_breaker(shared = PAYMENTS, attempts = 3, retry = "per_call", backoff = "1ms")]
pub async fn charge(amount: u64) -> Result<u64, Error> {
    Ok(amount)
}

#[circuit_breaker(shared = PAYMENTS)]
pub async fn refund(amount: u64) -> Result<u64, Error> {
    Ok(amount)
}

#[circuit_breaker(shared = nested::LEDGER, attempts = 2, retry = "per_attempt", backoff = "1ms")]
pub fn post(amount: u64) -> Result<u64, Error> {
    Ok(amount)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(charge(5).await.unwrap(), 5);
    assert_eq!(refund(5).await.unwrap(), 5);
    assert_eq!(post(1).unwrap(), 1);
    assert_eq!(PAYMENTS.metrics().successes, 2);
    assert_eq!(PAYMENTS.call_sites().len(), 2);
    assert!(PAYMENTS.name().ends_with("::PAYMENTS"));
    assert_eq!(breakerbox::registry().get("ledger").unwrap().metrics().successes, 1);
}
