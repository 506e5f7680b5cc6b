// An error type that is not `Send` (`Box<dyn Error>`) keeps a retrying async fn's future `Send`,
// as the plain fn's is: the call never holds an error across its backoff wait.
use breakerbox::circuit_breaker;

type BoxError = Box<dyn std::error::Error>;

#[circuit_breaker(attempts = 3, retry = "per_attempt", backoff = "10ms")]
async fn per_attempt(id: u64) -> Result<u64, BoxError> {
    if id == 0 {
        return Err("no such id".into());
    }
    tokio::task::yield_now().await;
    Ok(id)
}

#[circuit_breaker(attempts = 3, retry = "per_call", backoff = "10ms", timeout = "1s")]
async fn per_call(id: u64) -> Result<u64, BoxError> {
    if id == 0 {
        return Err("no such id".into());
    }
    tokio::task::yield_now().await;
    Ok(id)
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    let a = runtime.spawn(assert_send(async { per_attempt(7).await.map_err(|e| e.to_string()) }));
    let b = runtime.spawn(assert_send(async { per_call(8).await.map_err(|e| e.to_string()) }));
    assert_eq!(runtime.block_on(a).unwrap(), Ok(7));
    assert_eq!(runtime.block_on(b).unwrap(), Ok(8));
}
