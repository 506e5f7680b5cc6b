//! The actuator's `GET /metrics` (built with `--features metrics`): Prometheus text with every
//! breaker's counters and state gauge, served on an ephemeral port of 127.0.0.1. Its own test
//! binary, so its breaker does not appear in the other actuator test's listing.

#[path = "../examples/actuator/routes.rs"]
mod routes;
#[path = "support/actuator_server.rs"]
mod server;

use server::serve;
// The shop's breakers are what the scrape lists beside this test's own; this test calls none of its
// fns, only uses its error type.
#[allow(dead_code)]
#[path = "../examples/actuator/shop.rs"]
mod shop;

use axum::body::Bytes;
use axum::http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A breaker of this test alone, so its counts in the scrape are exact.
#[breakerbox::circuit_breaker(name = "actuator.scraped", threshold = 3)]
fn scraped(ok: bool) -> Result<(), shop::ShopError> {
    if ok {
        Ok(())
    } else {
        Err(shop::ShopError::Unavailable)
    }
}

/// With `--features metrics`, `GET /metrics` answers Prometheus text with every breaker's counters
/// and state gauge.
#[tokio::test]
async fn metrics_in_prometheus_text() {
    async fn scrape(base: &str) -> String {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let response = client
            .get(format!("{base}/metrics").parse().expect("a valid uri"))
            .await
            .expect("the actuator answers");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a whole body")
            .to_bytes();
        String::from_utf8(body.to_vec()).expect("utf-8 text")
    }
    let value = |text: &str, metric: &str| -> Option<String> {
        let prefix = format!("{metric}{{breaker=\"actuator.scraped\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned)
    };

    let base = serve().await;
    let _ = scraped(true);
    let _ = scraped(true);
    let _ = scraped(false);
    let text = scrape(&base).await;
    let expected = [
        ("breaker_admitted_total", "3"),
        ("breaker_successes_total", "2"),
        ("breaker_failures_total", "1"),
        ("breaker_ignored_total", "0"),
        ("breaker_rejected_total", "0"),
        ("breaker_timeouts_total", "0"),
        ("breaker_late_total", "0"),
        ("breaker_retries_total", "0"),
        ("breaker_state", "0"),
    ];
    for (metric, want) in expected {
        assert_eq!(
            value(&text, metric).as_deref(),
            Some(want),
            "{metric} in\n{text}"
        );
    }
    // Every other breaker of the process is there too.
    assert!(
        text.contains("breaker_state{breaker=\"payments\"}"),
        "{text}"
    );

    breakerbox::registry()
        .get("actuator.scraped")
        .unwrap()
        .force_open();
    let _ = scraped(true);
    let text = scrape(&base).await;
    assert_eq!(
        value(&text, "breaker_state").as_deref(),
        Some("3"),
        "{text}"
    );
    assert_eq!(
        value(&text, "breaker_rejected_total").as_deref(),
        Some("1"),
        "{text}"
    );
}
