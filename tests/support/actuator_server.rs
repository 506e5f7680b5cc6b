//! Serves the actuator example's router on an ephemeral port of 127.0.0.1, and calls it, for the
//! actuator tests.
#![allow(dead_code)] // each test binary uses its part

use std::net::Ipv4Addr;

use axum::body::Bytes;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Serves `routes::router()`; returns its base URL.
pub(crate) async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, crate::routes::router()).await });
    format!("http://{addr}")
}

/// Sends one request; returns the status and the JSON body (`Value::Null` when empty).
pub(crate) async fn request(method: Method, url: &str) -> (StatusCode, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = Request::builder()
        .method(method)
        .uri(url)
        .body(Empty::new())
        .expect("a valid request");
    let response = client.request(request).await.expect("the actuator answers");
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/json");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a whole body")
        .to_bytes();
    let value = if is_json {
        serde_json::from_slice(&body).expect("valid JSON")
    } else {
        assert!(body.is_empty(), "a non-JSON body: {body:?}");
        Value::Null
    };
    (status, value)
}
