//! The actuator's routes: every breaker of the process as JSON, and its three controls.
//!
//! | route                              | answers                                           |
//! |------------------------------------|---------------------------------------------------|
//! | `GET  /breakers`                   | every breaker, sorted by name, with its nestings  |
//! | `GET  /breakers/{name}`            | one breaker                                       |
//! | `POST /breakers/{name}/force-open` | opens it until reset; answers the breaker after   |
//! | `POST /breakers/{name}/disable`    | lets every call through until reset; same         |
//! | `POST /breakers/{name}/reset`      | closes it with empty counts; same                 |
//! | `GET  /metrics`                    | Prometheus text (built with `--features metrics`) |
//!
//! An unknown name gets `404 Not Found` with `{"error": "..."}`. `tests/actuator.rs` serves this
//! router as it is.

use axum::Json;
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use breakerbox::{Breaker, CallSite, Config, Reset, TripPolicy, Window};
use serde_json::{Value, json};

/// The actuator's routes, over `breakerbox::registry()`.
pub fn router() -> Router {
    let router = Router::new();
    #[cfg(feature = "metrics")]
    let router = router.route("/metrics", get(prometheus::render));
    router
        .route("/breakers", get(list))
        .route("/breakers/{name}", get(one))
        .route(
            "/breakers/{name}/force-open",
            post(|Path(name): Path<String>| async move { control(&name, Breaker::force_open) }),
        )
        .route(
            "/breakers/{name}/disable",
            post(|Path(name): Path<String>| async move { control(&name, Breaker::disable) }),
        )
        .route(
            "/breakers/{name}/reset",
            post(|Path(name): Path<String>| async move { control(&name, Breaker::reset) }),
        )
}

type Answer = Result<Json<Value>, (StatusCode, Json<Value>)>;

async fn list() -> Json<Value> {
    Json(breakerbox::registry().iter().map(breaker_json).collect())
}

async fn one(Path(name): Path<String>) -> Answer {
    find(&name).map(|b| Json(breaker_json(b)))
}

fn control(name: &str, action: fn(&Breaker)) -> Answer {
    let breaker = find(name)?;
    action(breaker);
    Ok(Json(breaker_json(breaker)))
}

fn find(name: &str) -> Result<&'static Breaker, (StatusCode, Json<Value>)> {
    breakerbox::registry().get(name).ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no circuit breaker named `{name}`") })),
        )
    })
}

/// One breaker: name, state, time left open, configuration, counts and the fns calling through it,
/// each with the annotated fns seen running inside its attempts (R12).
pub fn breaker_json(breaker: &Breaker) -> Value {
    let m = breaker.metrics();
    json!({
        "name": breaker.name(),
        "state": breaker.state().as_str(),
        "open_for_ms": breaker.remaining_open().map(millis),
        "config": config_json(breaker.config()),
        "metrics": {
            "admitted": m.admitted,
            "successes": m.successes,
            "failures": m.failures,
            "ignored": m.ignored,
            "rejected": m.rejected,
            "timeouts": m.timeouts,
            "late": m.late,
            "retries": m.retries,
            "cancelled": m.cancelled,
            "retries_denied": m.retries_denied,
            "nested_single": m.nested_single,
            "consecutive_failures": m.consecutive_failures,
            "window_calls": m.window_calls,
            "window_failures": m.window_failures,
            "window_slow": m.window_slow,
        },
        "call_sites": breaker.call_sites().iter().map(call_site_json).collect::<Vec<_>>(),
    })
}

fn config_json(config: &Config) -> Value {
    let mut out = match config.policy() {
        TripPolicy::Consecutive { threshold } => json!({ "threshold": threshold }),
        TripPolicy::FailureRate {
            percent,
            window,
            min_calls,
        } => json!({
            "failure_rate": percent,
            "window": window_json(window),
            "min_calls": min_calls,
        }),
        // A policy this actuator does not know yet: its name, from `Debug`.
        other => json!({ "policy": format!("{other:?}") }),
    };
    out["reset"] = config.reset().to_string().into();
    if let Some(slow) = config.slow_calls() {
        out["slow"] = Reset::Fixed(slow.threshold).to_string().into();
        out["slow_rate"] = slow.percent.into();
        out["window"] = window_json(slow.window);
        out["min_calls"] = slow.min_calls.into();
    }
    out["probes"] = config.probes().into();
    out["budget"] = config.budget().to_string().into();
    out
}

/// A count window as a number, a time window as the attribute writes it (`"60s"`).
fn window_json(window: Window) -> Value {
    match window {
        Window::Count(n) => json!(n),
        time => json!(time.to_string()),
    }
}

fn call_site_json(site: &CallSite) -> Value {
    let policy = site.policy();
    let location = site.location();
    json!({
        "function": site.function(),
        "file": location.file,
        "line": location.line,
        "attempts": policy.attempts(),
        // With one attempt there is nothing to count twice: no granularity.
        "retry": (policy.attempts() > 1).then(|| policy.granularity().as_str()),
        "timeout_ms": policy.timeout().map(millis),
        // The annotated fns seen running inside this fn's attempts, and the most requests each
        // sends per call of this one.
        "nested": breakerbox::registry()
            .edges()
            .filter(|edge| edge.outer().function() == site.function()
                && edge.outer().location() == site.location())
            .map(|edge| json!({
                "function": edge.inner().function(),
                "worst_case": edge.worst_case(),
                "retries_suppressed": edge.suppressed(),
            }))
            .collect::<Vec<_>>(),
    })
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `GET /metrics`: every breaker's counters and state gauge in Prometheus' text format.
#[cfg(feature = "metrics")]
mod prometheus {
    use std::sync::OnceLock;

    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    /// The process's recorder, installed on first use.
    fn handle() -> &'static PrometheusHandle {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        HANDLE.get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
    }

    pub(super) async fn render() -> String {
        let handle = handle();
        // The breakers keep their own counts; publish them just before the scrape reads them.
        breakerbox::registry().export_metrics();
        handle.render()
    }
}
