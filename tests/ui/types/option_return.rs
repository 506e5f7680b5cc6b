use breakerbox::circuit_breaker;

#[circuit_breaker(threshold = 5)]
pub fn lookup(id: u64) -> Option<u64> {
    Some(id)
}

fn main() {}
