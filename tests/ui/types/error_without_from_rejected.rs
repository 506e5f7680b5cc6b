use breakerbox::circuit_breaker;

#[derive(Debug)]
pub struct Error;

#[circuit_breaker(threshold = 5)]
pub async fn fetch() -> Result<u32, Error> {
    Err(Error)
}

fn main() {}
