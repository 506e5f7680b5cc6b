use bb::{Rejected, circuit_breaker, shared_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[shared_breaker(crate = "::bb", threshold = 3)]
static PAYMENTS: bb::Breaker;

#[circuit_breaker(crate = "::bb", shared = PAYMENTS, attempts = 3, retry = "per_call")]
fn charge(cents: u64) -> Result<u64, Error> {
    Ok(cents)
}

#[circuit_breaker(crate = "::bb")]
async fn lookup(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    assert_eq!(charge(5).unwrap(), 5);
    drop(lookup(1));
    assert_eq!(bb::registry().len(), 2);
}
