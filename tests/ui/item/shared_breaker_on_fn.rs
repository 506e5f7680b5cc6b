use breakerbox::shared_breaker;

#[shared_breaker(threshold = 10)]
pub fn payments() {}

fn main() {}
