use breakerbox::circuit_breaker;

// Two impls are missing, `From<Rejected>` and `From<TimedOut>`: one error for each, and none lists
// the `From` impls `String` does have.
#[circuit_breaker(timeout = "2s")]
pub async fn fetch() -> Result<u32, String> {
    Err("down".to_owned())
}

fn main() {}
