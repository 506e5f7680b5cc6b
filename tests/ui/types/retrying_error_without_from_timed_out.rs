//! A retrying async fn with `timeout`: a missing `From<TimedOut>` is reported once, on `E`.
use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(attempts = 3, retry = "per_attempt", timeout = "2s")]
pub async fn fetch() -> Result<u32, Error> {
    Err(Error)
}

fn main() {}
