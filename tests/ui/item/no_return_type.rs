use breakerbox::circuit_breaker;

#[circuit_breaker(threshold = 5)]
pub async fn notify(user: u64) {
    let _ = user;
}

fn main() {}
