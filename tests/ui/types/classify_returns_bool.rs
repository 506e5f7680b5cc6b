use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

fn is_transient(_: &Error) -> bool {
    true
}

#[circuit_breaker(attempts = 3, retry = "per_call", classify = is_transient)]
pub async fn fetch() -> Result<u32, Error> {
    Err(Error)
}

fn main() {}
