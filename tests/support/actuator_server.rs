//! Serves the actuator example's router on an ephemeral port of 127.0.0.1, for the actuator tests.

use std::net::Ipv4Addr;

/// Serves `routes::router()`; returns its base URL.
pub(crate) async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, crate::routes::router()).await });
    format!("http://{addr}")
}
