//! A crate without the prelude: the expansion names everything by absolute path.
#![no_implicit_prelude]

extern crate breakerbox;
extern crate std;

use std::result::Result::{self, Err, Ok};
use std::string::String;

use breakerbox::{circuit_breaker, shared_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl std::convert::From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[shared_breaker(threshold = 3)]
pub static SHARED: breakerbox::Breaker;

#[circuit_breaker(attempts = 2, retry = "per_attempt", backoff = "1ms", timeout = "1s")]
pub async fn fetch(id: String) -> Result<String, Error> {
    Ok(id)
}

#[circuit_breaker(shared = SHARED)]
pub fn fetch_blocking(ok: bool) -> Result<u32, Error> {
    if ok { Ok(1) } else { Err(Error) }
}

impl std::convert::From<breakerbox::TimedOut> for Error {
    fn from(_: breakerbox::TimedOut) -> Self {
        Error
    }
}

fn main() {
    let _ = fetch;
    std::assert!(fetch_blocking(true).is_ok());
}
