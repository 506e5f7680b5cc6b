//! A retrying async fn runs its attempts through the runtime's step: a missing
//! `From<Rejected>` is still reported once, on `E`.
use breakerbox::circuit_breaker;

#[derive(Debug)]
pub struct Error;

#[circuit_breaker(attempts = 3, retry = "per_call")]
pub async fn fetch(id: u64) -> Result<u64, Error> {
    Err(Error).map(|()| id)
}

fn main() {}
