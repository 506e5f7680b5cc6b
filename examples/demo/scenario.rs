//! The demo's scenario: a local HTTP service that follows a scripted outage, and a client that
//! calls it through two `#[circuit_breaker]` fns identical but for `retry`. Then two bounds beyond
//! one call: a storm of concurrent calls against the failing service with and without a retry
//! budget (R11), and an annotated fn calling another, with and without `nested = "retry"` (R12).
//!
//! `examples/demo.rs` prints what [`run`] returns; `tests/demo.rs` runs the same fn and checks its
//! counts against the runtime rules, so the numbers the demo shows are the numbers the test pins.
//!
//! The counts do not depend on timing. The client makes its calls one after another and the script
//! moves to its next phase only between calls, so which phase a request meets is decided by the
//! driver, not by a race. Real time matters in three places only, each with a wide margin: a
//! prompt answer over loopback takes well under a millisecond against the attempt timeout
//! (250 ms), a slow answer (5 s) is far beyond it, and the rejected calls of a phase take
//! microseconds against a 500 ms open period. Before each phase the client waits until any open
//! period is over, so every phase after the first starts with a half-open probe.
//!
//! The storm's counts do not depend on timing either, although its calls run 100 at a time: each
//! call's failing first attempt is counted by the budget right before the budget decides its retry,
//! so however the calls interleave, the retries granted end at the budget's allowance for the
//! first attempts made, as long as the storm fits in the budget's 10 s window (it takes well under
//! a second).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as Shared;
use axum::http::{StatusCode, Uri};
use axum::routing::get;
use breakerbox::{
    Breaker, Budget, CallPolicy, CallSite, Config, Events, Granularity, Metrics, Nested, Rejected,
    TimedOut, Transition, Verdict, circuit_breaker, shared_breaker,
};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;

/// The breaker that counts every attempt.
pub const PER_ATTEMPT: &str = "quotes.per_attempt";
/// The breaker that counts each call once, after its retries.
pub const PER_CALL: &str = "quotes.per_call";

/// How long the service takes to answer in its slow phase: far beyond the attempt timeout.
pub const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// The outage, in order: each phase and the calls the client makes during it.
pub const SCRIPT: [(Phase, u32); 4] = [
    (Phase::Healthy, 5),
    (Phase::Failing, 10),
    (Phase::Slow, 5),
    (Phase::Recovered, 5),
];

/// What the service does with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Answers `200 OK` at once.
    Healthy,
    /// Answers `503 Service Unavailable` at once.
    Failing,
    /// Answers `200 OK` after [`SLOW_ANSWER`], so every attempt misses its timeout.
    Slow,
    /// Healthy again.
    Recovered,
}

impl Phase {
    /// Whether the service is down: the outage is every phase that is.
    pub const fn is_outage(self) -> bool {
        matches!(self, Phase::Failing | Phase::Slow)
    }

    const fn from_u8(n: u8) -> Phase {
        match n {
            0 => Phase::Healthy,
            1 => Phase::Failing,
            2 => Phase::Slow,
            _ => Phase::Recovered,
        }
    }
}

// ---- the service ----

/// The script's state, shared by the driver (which moves the phase) and the handler (which counts
/// the requests that reach it).
#[derive(Debug, Default)]
struct Script {
    phase: AtomicU8,
    requests: AtomicU32,
}

async fn quote(Shared(script): Shared<Arc<Script>>) -> (StatusCode, &'static str) {
    // SeqCst, like every access to these two: the driver reads the count right after a call
    // returns and sets the phase between calls; the cost is nothing next to a socket.
    script.requests.fetch_add(1, Ordering::SeqCst);
    match Phase::from_u8(script.phase.load(Ordering::SeqCst)) {
        Phase::Healthy | Phase::Recovered => (StatusCode::OK, "EUR/USD 1.0842"),
        Phase::Failing => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
        Phase::Slow => {
            tokio::time::sleep(SLOW_ANSWER).await;
            (StatusCode::OK, "EUR/USD 1.0842")
        }
    }
}

/// The scripted service, listening on an ephemeral port of 127.0.0.1.
#[derive(Debug)]
struct Service {
    script: Arc<Script>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Service {
    async fn start() -> std::io::Result<Service> {
        let script = Arc::new(Script::default());
        let app = Router::new()
            .route("/quote", get(quote))
            .with_state(Arc::clone(&script));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            // `serve` only returns on an accept error it cannot recover from.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Service {
            script,
            addr,
            server,
        })
    }

    fn set_phase(&self, phase: Phase) {
        self.script.phase.store(phase as u8, Ordering::SeqCst);
    }

    fn requests(&self) -> u32 {
        self.script.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // Also drops the slow answers still sleeping: nobody waits for them any more.
        self.server.abort();
    }
}

// ---- the client ----

/// The HTTP client both fns share.
pub type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// What a quote call can fail with.
#[derive(Debug)]
pub enum QuoteError {
    /// The service answered with an error status.
    Status(StatusCode),
    /// The request or its answer did not make it.
    Transport(Box<dyn std::error::Error + Send + Sync>),
    /// The attempt missed its `timeout`.
    TimedOut(TimedOut),
    /// The breaker answered without calling the service.
    Rejected(Rejected),
}

impl std::fmt::Display for QuoteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QuoteError::Status(status) => write!(f, "the service answered {status}"),
            QuoteError::Transport(e) => write!(f, "the request failed: {e}"),
            QuoteError::TimedOut(t) => t.fmt(f),
            QuoteError::Rejected(r) => r.fmt(f),
        }
    }
}

impl std::error::Error for QuoteError {}

impl From<Rejected> for QuoteError {
    fn from(r: Rejected) -> Self {
        QuoteError::Rejected(r)
    }
}

impl From<TimedOut> for QuoteError {
    fn from(t: TimedOut) -> Self {
        QuoteError::TimedOut(t)
    }
}

/// One attempt: `GET uri`, the body of a `2xx` answer.
async fn get_quote(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    let transport = |e| QuoteError::Transport(Box::new(e));
    let response = client.get(uri.clone()).await.map_err(transport)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| QuoteError::Transport(Box::new(e)))?
        .to_bytes();
    if !status.is_success() {
        return Err(QuoteError::Status(status));
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

// The two fns differ in `name` and `retry` only.

/// A quote; the breaker counts every attempt.
#[circuit_breaker(
    name = "quotes.per_attempt",
    threshold = 5,
    reset = "500ms",
    attempts = 3,
    retry = "per_attempt",
    backoff = "20ms",
    jitter = false,
    timeout = "250ms"
)]
pub async fn quote_per_attempt(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    get_quote(client, uri).await
}

/// A quote; the breaker counts each call once, after its retries.
#[circuit_breaker(
    name = "quotes.per_call",
    threshold = 5,
    reset = "500ms",
    attempts = 3,
    retry = "per_call",
    backoff = "20ms",
    jitter = false,
    timeout = "250ms"
)]
pub async fn quote_per_call(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    get_quote(client, uri).await
}

// ---- beyond one call: the storm and the nesting ----

/// The storm's breaker under the default retry budget (20%, at least 10 retries a second).
pub const STORM: &str = "quotes.storm";
/// The storm's breaker without a budget.
pub const STORM_UNBOUNDED: &str = "quotes.storm.unbounded";

/// Calls in the storm, and how many are in flight at once.
pub const STORM_CALLS: u32 = 1_000;
/// Calls of the storm in flight at once: it runs in waves of this many.
pub const STORM_IN_FLIGHT: u32 = 100;

/// A quote, under the default retry budget. Its breaker is switched off during the storm, so the
/// budget is all that bounds the retries.
#[circuit_breaker(
    name = "quotes.storm",
    attempts = 3,
    retry = "per_call",
    backoff = "10ms",
    jitter = false
)]
pub async fn storm_quote(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    get_quote(client, uri).await
}

/// The storm's breaker without a budget, built by hand (the attribute's `budget = "off"` would
/// say the same on `storm_quote_unbounded`).
static STORM_UNBOUNDED_BREAKER: Breaker = Breaker::new(
    match Config::builder(STORM_UNBOUNDED).budget(Budget::Off).build() {
        Ok(config) => config,
        Err(_) => panic!("a valid configuration"),
    },
);

/// The same quote without a retry budget.
#[circuit_breaker(
    shared = STORM_UNBOUNDED_BREAKER,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms",
    jitter = false
)]
pub async fn storm_quote_unbounded(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    get_quote(client, uri).await
}

/// Which inner fn the outer one calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    /// `quote_inner`: 3 attempts, the default nesting (a single attempt inside a retrying call).
    AsWritten,
    /// `quote_inner_retrying`: 3 attempts, `nested = "retry"`.
    NestedRetry,
}

/// Outer calls the nested phase makes through each inner fn.
pub const NESTED_CALLS: u32 = 5;

/// A page that needs a quote: 3 attempts of its own around the inner fn's.
#[circuit_breaker(
    name = "pages.quote_page",
    threshold = 100,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms",
    jitter = false
)]
pub async fn quote_page(
    client: &HttpClient,
    uri: &Uri,
    inner: Inner,
) -> Result<String, QuoteError> {
    match inner {
        Inner::AsWritten => quote_inner(client, uri).await,
        Inner::NestedRetry => quote_inner_retrying(client, uri).await,
    }
}

/// A quote of 3 attempts; inside another retrying fn's attempt it makes one (R12).
#[circuit_breaker(
    name = "quotes.inner",
    threshold = 100,
    attempts = 3,
    retry = "per_call",
    backoff = "10ms",
    jitter = false
)]
pub async fn quote_inner(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    get_quote(client, uri).await
}

/// The breaker of `quote_inner_retrying`.
#[shared_breaker(name = "quotes.inner_retrying", threshold = 100)]
static INNER_RETRYING: Breaker;

/// The policy of `quote_inner_retrying`: `quote_inner`'s, and `nested = "retry"`.
const NESTED_RETRY: CallPolicy = match CallPolicy::builder()
    .attempts(3)
    .retry(Granularity::PerCall)
    .backoff(breakerbox::Backoff::Fixed(Duration::from_millis(10)))
    .jitter(false)
    .nested(Nested::Retry)
    .build()
{
    Ok(policy) => policy,
    Err(_) => panic!("a valid policy"),
};

/// Its call site, named in the registry's nesting edges.
static INNER_RETRYING_SITE: CallSite = CallSite::new(
    concat!(module_path!(), "::quote_inner_retrying"),
    file!(),
    line!(),
    NESTED_RETRY,
    &INNER_RETRYING,
);

/// `quote_inner` with `nested = "retry"`: it keeps its 3 attempts inside another retrying fn.
/// Written with the programmatic API ([`CallSite::run`]); with the attribute it is
/// `#[circuit_breaker(attempts = 3, retry = "per_call", nested = "retry", ..)]`.
pub async fn quote_inner_retrying(client: &HttpClient, uri: &Uri) -> Result<String, QuoteError> {
    INNER_RETRYING_SITE
        .run(Verdict::transient, || get_quote(client, uri))
        .await
}

// ---- the driver ----

/// How one call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A quote came back.
    Ok,
    /// The last attempt got this error status.
    Status(u16),
    /// The last attempt missed its timeout.
    TimedOut,
    /// The last attempt failed below HTTP.
    Transport,
    /// The open breaker answered at once: no request was sent.
    Rejected,
}

impl Outcome {
    fn of<T>(result: &Result<T, QuoteError>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(QuoteError::Status(status)) => Outcome::Status(status.as_u16()),
            Err(QuoteError::TimedOut(_)) => Outcome::TimedOut,
            Err(QuoteError::Transport(_)) => Outcome::Transport,
            Err(QuoteError::Rejected(_)) => Outcome::Rejected,
        }
    }
}

/// One call: how it ended and how many requests it sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// How it ended.
    pub outcome: Outcome,
    /// Requests that reached the service during it.
    pub requests: u32,
}

/// One phase of one run.
#[derive(Clone, Debug)]
pub struct PhaseRecord {
    /// Which phase.
    pub phase: Phase,
    /// Its calls, in order.
    pub calls: Vec<CallRecord>,
}

impl PhaseRecord {
    /// Requests that reached the service.
    pub fn requests(&self) -> u32 {
        self.calls.iter().map(|c| c.requests).sum()
    }

    /// Calls that ended this way.
    pub fn count(&self, outcome: Outcome) -> u32 {
        let n = self.calls.iter().filter(|c| c.outcome == outcome).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// A state transition, placed in time and in the script.
#[derive(Clone, Debug)]
pub struct TimelineEntry {
    /// Since the scenario began.
    pub elapsed: Duration,
    /// The phase it happened in.
    pub phase: Phase,
    /// The transition, as `subscribe()` delivered it.
    pub transition: Transition,
}

/// The script played through one breaker.
#[derive(Debug)]
pub struct Run {
    /// The breaker the calls went through.
    pub breaker: &'static Breaker,
    /// One record per phase of [`SCRIPT`].
    pub phases: Vec<PhaseRecord>,
    /// The breaker's transitions, in order.
    pub timeline: Vec<TimelineEntry>,
}

impl Run {
    /// The record of `phase`.
    ///
    /// # Panics
    ///
    /// Never for a phase of [`SCRIPT`].
    pub fn phase(&self, phase: Phase) -> &PhaseRecord {
        self.phases
            .iter()
            .find(|p| p.phase == phase)
            .expect("every phase of the script is played")
    }

    /// Requests that reached the service while it was down.
    pub fn outage_requests(&self) -> u32 {
        self.outage().map(PhaseRecord::requests).sum()
    }

    /// Calls the open breaker answered at once while the service was down.
    pub fn outage_rejected(&self) -> u32 {
        self.outage().map(|p| p.count(Outcome::Rejected)).sum()
    }

    fn outage(&self) -> impl Iterator<Item = &PhaseRecord> {
        self.phases.iter().filter(|p| p.phase.is_outage())
    }
}

/// The storm through one breaker.
#[derive(Debug)]
pub struct Storm {
    /// The breaker the calls went through.
    pub breaker: &'static Breaker,
    /// Requests that reached the service.
    pub requests: u32,
    /// Calls that ended with the service's error (all of them: it is down).
    pub failed: u32,
    /// The breaker's counts after the storm.
    pub metrics: Metrics,
    /// How long the storm took.
    pub took: Duration,
}

/// The nested phase through one inner fn.
#[derive(Debug)]
pub struct Nesting {
    /// Which inner fn the outer one called.
    pub inner: Inner,
    /// Requests each outer call sent.
    pub per_outer_call: Vec<u32>,
}

/// Everything the scenario observed.
#[derive(Debug)]
pub struct Report {
    /// The `per_attempt` run.
    pub per_attempt: Run,
    /// The `per_call` run.
    pub per_call: Run,
    /// The storm without a retry budget.
    pub storm_unbounded: Storm,
    /// The storm under the default retry budget.
    pub storm: Storm,
    /// The outer fn over the inner fn as written, then over the one with `nested = "retry"`.
    pub nested: [Nesting; 2],
    /// How long it all took.
    pub took: Duration,
}

/// Which annotated fn a run calls.
#[derive(Clone, Copy)]
enum Via {
    PerAttempt,
    PerCall,
}

/// Plays [`SCRIPT`] once through each breaker: first `per_attempt`, then `per_call`, each against
/// a fresh service; then the storm, without and with a budget, and the nested phase, each
/// against a fresh service that is down.
///
/// # Errors
///
/// When the service cannot bind its port.
///
/// # Panics
///
/// When the breakers are missing from the registry, which cannot happen: they are declared above.
pub async fn run(waits: Waits) -> std::io::Result<Report> {
    let registry = breakerbox::registry();
    let mut events = registry.subscribe();
    let start = Instant::now();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let per_attempt = play(
        registry.get(PER_ATTEMPT).expect("declared above"),
        Via::PerAttempt,
        &client,
        &mut events,
        start,
        waits,
    )
    .await?;
    let per_call = play(
        registry.get(PER_CALL).expect("declared above"),
        Via::PerCall,
        &client,
        &mut events,
        start,
        waits,
    )
    .await?;
    let storm_unbounded = storm(
        registry.get(STORM_UNBOUNDED).expect("declared above"),
        &client,
    )
    .await?;
    let storm = storm(registry.get(STORM).expect("declared above"), &client).await?;
    let nested = [
        nesting(Inner::AsWritten, &client).await?,
        nesting(Inner::NestedRetry, &client).await?,
    ];
    Ok(Report {
        per_attempt,
        per_call,
        storm_unbounded,
        storm,
        nested,
        took: start.elapsed(),
    })
}

/// A service that is down, and the URI of its quote.
async fn failing_service() -> std::io::Result<(Service, Uri)> {
    let service = Service::start().await?;
    service.set_phase(Phase::Failing);
    let uri: Uri = format!("http://{}/quote", service.addr)
        .parse()
        .expect("a socket address makes a valid URI");
    Ok((service, uri))
}

/// [`STORM_CALLS`] calls through `breaker`'s fn against a service that is down, in waves of
/// [`STORM_IN_FLIGHT`] concurrent calls. The breaker is switched off first: it would open after
/// a few failures and answer the rest itself, and the storm is about what the budget does alone.
async fn storm(breaker: &'static Breaker, client: &HttpClient) -> std::io::Result<Storm> {
    let (service, uri) = failing_service().await?;
    breaker.disable();
    let budgeted = breaker.name() == STORM;
    let start = Instant::now();
    let mut failed = 0;
    for _ in 0..STORM_CALLS / STORM_IN_FLIGHT {
        let mut wave = tokio::task::JoinSet::new();
        for _ in 0..STORM_IN_FLIGHT {
            let (client, uri) = (client.clone(), uri.clone());
            wave.spawn(async move {
                if budgeted {
                    storm_quote(&client, &uri).await
                } else {
                    storm_quote_unbounded(&client, &uri).await
                }
            });
        }
        while let Some(call) = wave.join_next().await {
            let result = call.expect("a storm call does not panic");
            if Outcome::of(&result) == Outcome::Status(503) {
                failed += 1;
            }
        }
    }
    Ok(Storm {
        breaker,
        requests: service.requests(),
        failed,
        metrics: breaker.metrics(),
        took: start.elapsed(),
    })
}

/// [`NESTED_CALLS`] calls of the outer fn over `inner`, one after another, against a service that
/// is down.
async fn nesting(inner: Inner, client: &HttpClient) -> std::io::Result<Nesting> {
    let (service, uri) = failing_service().await?;
    let mut per_outer_call = Vec::new();
    for _ in 0..NESTED_CALLS {
        let before = service.requests();
        let result = quote_page(client, &uri, inner).await;
        assert_eq!(
            Outcome::of(&result),
            Outcome::Status(503),
            "the service is down"
        );
        per_outer_call.push(service.requests() - before);
    }
    Ok(Nesting {
        inner,
        per_outer_call,
    })
}

async fn play(
    breaker: &'static Breaker,
    via: Via,
    client: &HttpClient,
    events: &mut Events,
    start: Instant,
    waits: Waits,
) -> std::io::Result<Run> {
    let service = Service::start().await?;
    let uri: Uri = format!("http://{}/quote", service.addr)
        .parse()
        .expect("a socket address makes a valid URI");
    let mut run = Run {
        breaker,
        phases: Vec::with_capacity(SCRIPT.len()),
        timeline: Vec::new(),
    };
    for (phase, calls) in SCRIPT {
        wait_out_open_period(breaker, waits).await;
        service.set_phase(phase);
        let mut record = PhaseRecord {
            phase,
            calls: Vec::with_capacity(calls as usize),
        };
        for _ in 0..calls {
            let before = service.requests();
            let result = match via {
                Via::PerAttempt => quote_per_attempt(client, &uri).await,
                Via::PerCall => quote_per_call(client, &uri).await,
            };
            record.calls.push(CallRecord {
                outcome: Outcome::of(&result),
                requests: service.requests() - before,
            });
        }
        run.phases.push(record);
        // A transition is sent by the call that makes it, so once the phase's calls have returned
        // its transitions are all waiting here.
        while let Ok(Some(transition)) = events.try_recv() {
            if transition.breaker == breaker.name() {
                run.timeline.push(TimelineEntry {
                    elapsed: transition.at.saturating_duration_since(start),
                    phase,
                    transition,
                });
            }
        }
    }
    Ok(run)
}

/// How the scenario waits for an open period to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(
    dead_code,
    reason = "the demo and its test include this file and each uses one variant"
)]
pub enum Waits {
    /// Sleeps in real time, as a program would: the demo.
    Real,
    /// Moves tokio's clock (which the breakers read) forward at once: the test, which must not
    /// sleep in real time. Needs a current-thread runtime and tokio's `test-util`.
    Skipped,
}

/// Waits until an open breaker's period is over, so that its next call is a half-open probe.
async fn wait_out_open_period(breaker: &Breaker, waits: Waits) {
    while let Some(left) = breaker.remaining_open().filter(|left| !left.is_zero()) {
        match waits {
            Waits::Real => tokio::time::sleep(left).await,
            Waits::Skipped => {
                // Frozen only for the jump: the HTTP calls run on a live clock, where a request
                // in flight cannot be overtaken by its own timeout.
                tokio::time::pause();
                tokio::time::advance(left).await;
                tokio::time::resume();
            }
        }
    }
}
