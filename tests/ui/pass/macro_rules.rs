//! Fns written inside `macro_rules!`.
use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

macro_rules! endpoint {
    ($name:ident, $value:expr) => {
        #[circuit_breaker(attempts = 2, retry = "per_call", backoff = "1ms")]
        pub async fn $name(id: String) -> Result<String, Error> {
            Ok(format!("{}:{}", id, $value))
        }
    };
}

endpoint!(users, 1);
endpoint!(orders, 2);

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(users("a".to_owned()).await.unwrap(), "a:1");
    assert_eq!(orders("b".to_owned()).await.unwrap(), "b:2");
}
