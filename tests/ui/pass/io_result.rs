use breakerbox::circuit_breaker;

// `io::Result<T>` is a `Result` by type, and `io::Error` holds a rejection (kind `Other`).
#[circuit_breaker(threshold = 5, name = "pass.io_result")]
pub fn read(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

fn main() {
    let err = read("/nonexistent/breaker/file").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    breakerbox::registry().get("pass.io_result").unwrap().force_open();
    let err = read("/nonexistent/breaker/file").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    let rejected = err.get_ref().unwrap().downcast_ref::<breakerbox::Rejected>().unwrap();
    assert_eq!(rejected.breaker(), "pass.io_result");
}
