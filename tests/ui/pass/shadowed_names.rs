//! A crate with its own `Result`, `Ok`, `Option`, `Some` and a module named `core`.
use breakerbox::{circuit_breaker, Rejected};

#[allow(dead_code)]
pub struct Result;
#[allow(dead_code)]
pub struct Option;
#[allow(dead_code)]
pub struct Some;

#[allow(dead_code)]
pub mod core {
    pub mod result {}
    pub mod option {}
}

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(attempts = 2, retry = "per_call", backoff = "1ms")]
pub fn fetch(id: String) -> std::result::Result<String, Error> {
    std::result::Result::Ok(id)
}

pub type ApiResult<T> = std::result::Result<T, Error>;

#[circuit_breaker(threshold = 4)]
pub async fn fetch_alias(id: u32) -> ApiResult<u32> {
    std::result::Result::Ok(id)
}

fn main() {
    assert_eq!(fetch("x".to_owned()).unwrap(), "x");
    let _ = fetch_alias(1);
}
