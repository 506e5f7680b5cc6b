use breakerbox::shared_breaker;

#[shared_breaker(threshold = 10, attempts = 3)]
pub static PAYMENTS: breakerbox::Breaker;

fn main() {}
