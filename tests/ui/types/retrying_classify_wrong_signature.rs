//! A retrying async fn whose `classify` takes another error type: reported on the path.
use breakerbox::{circuit_breaker, Rejected, Verdict};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

fn classify(_: &std::io::Error) -> Verdict {
    Verdict::Transient
}

#[circuit_breaker(classify = classify, attempts = 2, retry = "per_attempt")]
pub async fn fetch() -> Result<u32, Error> {
    Err(Error)
}

fn main() {}
