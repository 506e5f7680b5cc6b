use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(slow_rate = 50, window = "60s")]
pub async fn fetch() -> Result<u32, Error> {
    Ok(1)
}

fn main() {}
