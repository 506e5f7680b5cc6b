//! The future stays `Send` when the fn's is: it can be spawned on a multi-threaded runtime.
use std::sync::Arc;

use breakerbox::{circuit_breaker, Rejected, TimedOut};

#[derive(Debug)]
pub enum Error {
    Rejected(Rejected),
    TimedOut(TimedOut),
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

impl From<TimedOut> for Error {
    fn from(t: TimedOut) -> Self {
        Error::TimedOut(t)
    }
}

pub struct Service {
    name: String,
}

impl Service {
    #[circuit_breaker(attempts = 3, retry = "per_attempt", backoff = "1ms", timeout = "1s")]
    pub async fn call(self: Arc<Self>, payload: Vec<u8>) -> Result<usize, Error> {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        Ok(self.name.len() + payload.len())
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::main]
async fn main() {
    let service = Arc::new(Service { name: "svc".to_owned() });
    let task = tokio::spawn(assert_send(service.call(vec![1, 2])));
    assert_eq!(task.await.unwrap().unwrap(), 5);
}
