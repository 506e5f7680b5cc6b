use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

pub static LIMIT: u32 = 5;

#[circuit_breaker(shared = LIMIT)]
pub async fn fetch() -> Result<u32, Error> {
    Ok(LIMIT)
}

fn main() {}
