use bb::{Rejected, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(threshold = 3)]
fn charge(cents: u64) -> Result<u64, Error> {
    Ok(cents)
}

fn main() {
    let _ = charge(5);
}
