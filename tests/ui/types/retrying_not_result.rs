//! A retrying async fn that does not return a `Result`: one error, on the return type.
use breakerbox::circuit_breaker;

#[circuit_breaker(attempts = 3, retry = "per_call")]
pub async fn count() -> u32 {
    1
}

fn main() {}
