use breakerbox::circuit_breaker;

#[circuit_breaker(threshold = 5)]
pub async fn count() -> u32 {
    1
}

fn main() {}
