use breakerbox::{shared_breaker, Breaker, Config};

#[shared_breaker(threshold = 10)]
pub static PAYMENTS: Breaker = Breaker::new(Config::new("payments"));

fn main() {}
