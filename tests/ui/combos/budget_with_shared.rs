use breakerbox::{circuit_breaker, shared_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[shared_breaker(threshold = 10)]
pub static PAYMENTS: breakerbox::Breaker;

#[circuit_breaker(shared = PAYMENTS, attempts = 3, retry = "per_call", budget = "50%")]
pub async fn charge() -> Result<u32, Error> {
    Ok(1)
}

fn main() {}
