use breakerbox::{Rejected, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(failure_rate = 50, window = "5ms")]
fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    let _ = fetch(1);
}
