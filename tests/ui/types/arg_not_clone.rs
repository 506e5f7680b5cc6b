use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

pub struct Request {
    pub id: u64,
}

#[circuit_breaker(attempts = 3, retry = "per_attempt")]
pub async fn send(request: Request) -> Result<u64, Error> {
    Ok(request.id)
}

fn main() {}
