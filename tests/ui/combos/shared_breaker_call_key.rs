use breaker::shared_breaker;

#[shared_breaker(threshold = 10, attempts = 3)]
pub static PAYMENTS: breaker::Breaker;

fn main() {}
