//! `&self`, `&mut self`, `self` and `self: Box<Self>` receivers, inherent and trait impl methods.
use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[derive(Clone)]
pub struct Client {
    calls: u32,
}

impl Client {
    #[circuit_breaker(threshold = 5)]
    pub async fn get(&self, id: u32) -> Result<u32, Error> {
        Ok(id + self.calls)
    }

    #[circuit_breaker(attempts = 2, retry = "per_call", backoff = "10ms")]
    pub async fn count(&mut self) -> Result<u32, Error> {
        self.calls += 1;
        Ok(self.calls)
    }

    #[circuit_breaker(threshold = 5)]
    pub fn into_calls(self) -> Result<u32, Error> {
        Ok(self.calls)
    }

    #[circuit_breaker(attempts = 2, retry = "per_attempt", backoff = "10ms")]
    pub async fn boxed(self: Box<Self>) -> Result<u32, Error> {
        Ok(self.calls)
    }
}

pub trait Api {
    fn fetch(&self, id: u32) -> impl std::future::Future<Output = Result<u32, Error>> + Send;
    fn fetch_blocking(&mut self) -> Result<u32, Error>;
}

impl Api for Client {
    #[circuit_breaker(threshold = 2)]
    async fn fetch(&self, id: u32) -> Result<u32, Error> {
        Ok(id)
    }

    #[circuit_breaker(threshold = 2)]
    fn fetch_blocking(&mut self) -> Result<u32, Error> {
        self.calls += 1;
        Ok(self.calls)
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    let mut client = Client { calls: 0 };
    assert_eq!(client.get(1).await.unwrap(), 1);
    assert_eq!(client.count().await.unwrap(), 1);
    assert_eq!(client.fetch(4).await.unwrap(), 4);
    assert_eq!(client.fetch_blocking().unwrap(), 2);
    assert_eq!(Box::new(client.clone()).boxed().await.unwrap(), 2);
    assert_eq!(client.into_calls().unwrap(), 2);
}
