//! A breaker built at run time and registered is served by the actuator like the attributes'
//! breakers: listed by `GET /breakers`, found by name, and controlled. (Its own test binary: the
//! other actuator tests assert the exact list of breakers.)

#[path = "../examples/actuator/routes.rs"]
mod routes;
#[path = "support/actuator_server.rs"]
mod server;

use axum::http::{Method, StatusCode};
use breakerbox::{Breaker, Config, State, registry};
use server::{request, serve};

#[tokio::test]
async fn a_registered_breaker_is_listed_and_controlled() {
    let config = Config::builder("search").threshold(4).build().unwrap();
    let search = registry()
        .register(Breaker::new_named(String::from("search-eu"), config))
        .unwrap();
    search.try_acquire().unwrap().success();

    let base = serve().await;
    let (status, all) = request(Method::GET, &format!("{base}/breakers")).await;
    assert_eq!(status, StatusCode::OK);
    let listed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "search-eu")
        .expect("listed");
    assert_eq!(listed["config"]["threshold"], 4);
    assert_eq!(listed["metrics"]["successes"], 1);
    assert_eq!(listed["call_sites"].as_array().map(Vec::len), Some(0));

    let (status, _) = request(
        Method::POST,
        &format!("{base}/breakers/search-eu/force-open"),
    )
    .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(search.state(), State::ForcedOpen);
}
