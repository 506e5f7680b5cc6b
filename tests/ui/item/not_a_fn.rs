use breakerbox::circuit_breaker;

#[circuit_breaker(threshold = 5)]
pub struct Client {
    pub url: String,
}

fn main() {}
