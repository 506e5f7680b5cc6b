use breakerbox::shared_breaker;

#[shared_breaker(threshold = 10)]
pub static PAYMENTS: u32;

fn main() {}
