use breakerbox::{Rejected, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(treshold = 5)]
pub async fn fetch() -> Result<u32, Error> {
    Ok(1)
}

fn main() {
    // The fn is still emitted beside the error: calling it is no second error.
    let _ = fetch();
}
