//! `slow`, `slow_rate`, `budget` and `nested` reach the breaker's configuration and the call's
//! policy as written; `budget` goes on a `#[shared_breaker]` too.
use std::time::Duration;

use breakerbox::{
    Budget, Nested, Rejected, SlowCalls, TripPolicy, Window, circuit_breaker, shared_breaker,
};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(
    name = "search",
    threshold = 3,
    slow = "2s",
    slow_rate = 50,
    window = 20,
    min_calls = 5,
    budget = "10%",
    attempts = 3,
    retry = "per_call",
    nested = "retry"
)]
pub async fn search(q: &str) -> Result<usize, Error> {
    Ok(q.len())
}

/// The slow-call rate alone, with the budget off.
#[shared_breaker(slow = "250ms", slow_rate = 80, budget = "off")]
pub static CATALOG: breakerbox::Breaker;

#[circuit_breaker(shared = CATALOG, attempts = 2, retry = "per_attempt", nested = "retry")]
pub fn item(id: u64) -> Result<u64, Error> {
    Ok(id)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(search("rust").await.unwrap(), 4);
    assert_eq!(item(7).unwrap(), 7);

    let search = breakerbox::registry().get("search").unwrap();
    let config = search.config();
    assert_eq!(config.policy(), TripPolicy::Consecutive { threshold: 3 });
    let slow: SlowCalls = config.slow_calls().expect("a slow-call policy");
    assert_eq!(
        (slow.threshold, slow.percent, slow.window, slow.min_calls),
        (Duration::from_secs(2), 50, Window::Count(20), 5)
    );
    assert_eq!(config.budget(), Budget::Percent(10));
    let site = &search.call_sites()[0];
    assert_eq!(site.policy().nested(), Nested::Retry);

    let catalog = CATALOG.config();
    assert_eq!(catalog.budget(), Budget::Off);
    assert_eq!(
        catalog.slow_calls().map(|s| (s.threshold, s.percent)),
        Some((Duration::from_millis(250), 80))
    );
    assert_eq!(CATALOG.call_sites()[0].policy().nested(), Nested::Retry);
}
