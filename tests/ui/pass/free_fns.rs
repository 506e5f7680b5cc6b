//! Free async and sync fns of any visibility, `?` and early `return`, docs and attributes kept.
use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub enum Error {
    Parse,
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

/// Parses an id.
#[circuit_breaker(threshold = 3, reset = "1s")]
#[must_use = "the id is the point"]
pub async fn parse(text: &str) -> Result<u32, Error> {
    if text.is_empty() {
        return Ok(0);
    }
    let n: u32 = text.parse().map_err(|_| Error::Parse)?;
    Ok(n)
}

#[circuit_breaker(failure_rate = 50, window = "60s", min_calls = 5, reset = "1s..60s", probes = 2)]
pub(crate) fn parse_blocking(text: String) -> Result<u32, Error> {
    text.parse().map_err(|_| Error::Parse)
}

#[circuit_breaker(attempts = 3, retry = "per_attempt", backoff = "100ms..2s", jitter = false)]
fn parse_private(text: String, mut tries: u32) -> Result<u32, Error> {
    tries += 1;
    let _ = tries;
    text.parse().map_err(|_| Error::Parse)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(parse("7").await.unwrap(), 7);
    assert_eq!(parse("").await.unwrap(), 0);
    assert!(matches!(parse("x").await, Err(Error::Parse)));
    assert_eq!(parse_blocking("8".to_owned()).unwrap(), 8);
    assert_eq!(parse_private("9".to_owned(), 0).unwrap(), 9);
}
