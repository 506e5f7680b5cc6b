use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(attempts = 3, retry = "per_call")]
pub async fn fetch((id, page): (u64, u32)) -> Result<u64, Error> {
    Ok(id + u64::from(page))
}

fn main() {}
