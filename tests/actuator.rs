//! The actuator example's router, served on an ephemeral port of 127.0.0.1 and called over HTTP:
//! the JSON of `GET /breakers`, each control, and 404 for an unknown name.
//!
//! The two tests touch different breakers (`inventory`, `payments`), so they may run in parallel.

#[path = "../examples/actuator/routes.rs"]
mod routes;
#[path = "support/actuator_server.rs"]
mod server;

use server::{request, serve};
#[path = "../examples/actuator/shop.rs"]
mod shop;

use axum::http::{Method, StatusCode};
use breakerbox::State;
use serde_json::{Value, json};

#[tokio::test]
async fn get_breakers_lists_every_breaker_with_its_metrics_and_call_sites() {
    // One success, one failure, one ignored error (`classify` says a missing SKU is the caller's).
    assert_eq!(shop::stock(7).await.unwrap(), 0);
    assert!(matches!(
        shop::stock(10).await,
        Err(shop::ShopError::Unavailable)
    ));
    assert!(matches!(
        shop::stock(404).await,
        Err(shop::ShopError::NotFound)
    ));

    let base = serve().await;
    let (status, all) = request(Method::GET, &format!("{base}/breakers")).await;
    assert_eq!(status, StatusCode::OK);
    let all = all.as_array().expect("an array of breakers");
    let names: Vec<&str> = all.iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["inventory", "payments"]);

    let inventory = &all[0];
    let site = &inventory["call_sites"][0];
    let file = site["file"].as_str().expect("a file");
    assert!(file.ends_with("examples/actuator/shop.rs"), "{file}");
    assert!(site["line"].as_u64().is_some_and(|line| line > 0));
    assert_eq!(
        *inventory,
        json!({
            "name": "inventory",
            "state": "closed",
            "open_for_ms": null,
            "config": { "threshold": 3, "reset": "30s", "probes": 1, "budget": "20%" },
            "metrics": {
                "admitted": 3,
                "successes": 1,
                "failures": 1,
                "ignored": 1,
                "rejected": 0,
                "timeouts": 0,
                "late": 0,
                "retries": 0,
                "cancelled": 0,
                "retries_denied": 0,
                "nested_single": 0,
                "consecutive_failures": 1,
                "window_calls": 0,
                "window_failures": 0,
                "window_slow": 0,
            },
            "call_sites": [{
                "function": "actuator::shop::stock",
                "file": file,
                "line": site["line"],
                "attempts": 1,
                "retry": null,
                "timeout_ms": 2000,
                "nested": [],
            }],
        })
    );

    // One shared breaker, two fns, each with its own retry settings.
    let payments = &all[1];
    assert_eq!(
        payments["config"],
        json!({ "threshold": 2, "reset": "1s..1m", "probes": 1, "budget": "20%" })
    );
    let mut sites: Vec<(&str, &Value, &Value)> = payments["call_sites"]
        .as_array()
        .expect("an array of call sites")
        .iter()
        .map(|s| (s["function"].as_str().unwrap(), &s["attempts"], &s["retry"]))
        .collect();
    sites.sort_by_key(|s| s.0);
    assert_eq!(
        sites,
        [
            ("actuator::shop::charge", &json!(3), &json!("per_call")),
            ("actuator::shop::refund", &json!(1), &Value::Null),
        ]
    );

    // One breaker by name: the same object.
    let (status, one) = request(Method::GET, &format!("{base}/breakers/inventory")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, *inventory);
}

#[tokio::test]
async fn controls_act_on_the_named_breaker_and_unknown_names_get_404() {
    let base = serve().await;
    let control = |action: &str| format!("{base}/breakers/payments/{action}");
    assert_eq!(shop::charge(100).await.unwrap(), 100 ^ 0x5eed);

    // force-open: the answer shows the new state, and the next call is refused without running.
    let (status, b) = request(Method::POST, &control("force-open")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["name"], "payments");
    assert_eq!(b["state"], "forced_open");
    assert_eq!(shop::PAYMENTS.state(), State::ForcedOpen);
    assert!(matches!(
        shop::charge(100).await,
        Err(shop::ShopError::Rejected(_))
    ));
    assert!(matches!(
        shop::refund(100).await,
        Err(shop::ShopError::Rejected(_))
    ));
    let (_, b) = request(Method::GET, &format!("{base}/breakers/payments")).await;
    assert_eq!(b["metrics"]["rejected"], 2);

    // disable: every call runs, and failures past the threshold (2) do not open it.
    let (status, b) = request(Method::POST, &control("disable")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["state"], "disabled");
    shop::set_payments_down(true);
    for _ in 0..3 {
        assert!(matches!(
            shop::refund(100).await,
            Err(shop::ShopError::Unavailable)
        ));
    }
    shop::set_payments_down(false);
    assert_eq!(shop::PAYMENTS.state(), State::Disabled);
    let (_, b) = request(Method::GET, &format!("{base}/breakers/payments")).await;
    assert_eq!(b["state"], "disabled");
    assert_eq!(b["metrics"]["failures"], 3);

    // reset: closed again.
    let (status, b) = request(Method::POST, &control("reset")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["state"], "closed");
    assert_eq!(b["metrics"]["consecutive_failures"], 0);
    assert_eq!(shop::PAYMENTS.state(), State::Closed);
    assert_eq!(shop::refund(5).await.unwrap(), 5);

    // An unknown name, for every route that takes one.
    for (method, path) in [
        (Method::GET, "/breakers/nope"),
        (Method::POST, "/breakers/nope/force-open"),
        (Method::POST, "/breakers/nope/disable"),
        (Method::POST, "/breakers/nope/reset"),
    ] {
        let (status, body) = request(method, &format!("{base}{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            body,
            json!({ "error": "no circuit breaker named `nope`" }),
            "{path}"
        );
    }
    // The controls change state, so they answer POST only.
    let (status, _) = request(Method::GET, &control("reset")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(shop::PAYMENTS.state(), State::Closed);
}
