use breaker::circuit_breaker;

// `io::Result` is a `Result`, but `io::Error` cannot hold a `breaker::Rejected`.
#[circuit_breaker(threshold = 5)]
pub fn read(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

fn main() {}
