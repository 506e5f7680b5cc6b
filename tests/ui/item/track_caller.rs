use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(threshold = 5)]
#[track_caller]
pub fn fetch() -> Result<u32, Error> {
    Ok(std::panic::Location::caller().line())
}

fn main() {
    let _ = fetch();
}
