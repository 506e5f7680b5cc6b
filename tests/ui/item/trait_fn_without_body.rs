use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

pub trait Api {
    #[circuit_breaker(threshold = 5)]
    fn fetch(&self) -> Result<u32, Error>;
}

fn main() {}
