//! Circuit breaker and retry for Rust functions, through one attribute, with the one choice that
//! decides what the breaker's numbers mean made explicit and checked at compile time.
//!
//! A circuit breaker stops calling a service that is failing: after enough recorded failures it
//! *opens* and refuses calls at once with [`Rejected`]; after its `reset` period it lets a few
//! *probe* calls through (*half-open*), and closes again when they succeed. Retry makes another
//! attempt when a call fails. Put together without saying how, the two disagree about what a
//! failure is; `#[circuit_breaker]` makes you say it.
//!
//! ```
//! use breakerbox::{Rejected, circuit_breaker};
//!
//! #[derive(Debug)]
//! enum ApiError {
//!     Unavailable,
//!     /// The breaker refused the call without running it.
//!     Rejected(Rejected),
//! }
//!
//! impl From<Rejected> for ApiError {
//!     fn from(r: Rejected) -> Self {
//!         ApiError::Rejected(r)
//!     }
//! }
//!
//! #[circuit_breaker(threshold = 5, reset = "30s", attempts = 3, retry = "per_attempt", backoff = "100ms..2s")]
//! async fn fetch_user(id: u64) -> Result<String, ApiError> {
//!     if id == 0 { Err(ApiError::Unavailable) } else { Ok(format!("user {id}")) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(fetch_user(7).await.unwrap(), "user 7");
//! let breaker = breakerbox::registry().get(concat!(module_path!(), "::fetch_user")).unwrap();
//! assert_eq!(breaker.metrics().successes, 1);
//! # }
//! ```
//!
//! The fn keeps its signature, visibility, docs, attributes, generics, `self` receiver and
//! `Send`-ness (also with an error type that is not `Send`, such as `Box<dyn Error>`: a call never
//! holds its error across a backoff wait); only its body is wrapped. Its error type must implement
//! `From<Rejected>` (and `From<TimedOut>` when `timeout` is set), which is how a refused call is
//! returned.
//!
//! A panic inside the call is recorded as a failure, gives its permit back and keeps unwinding.
//! A call dropped before it finished (a cancelled future, or a future dropped while a panic that
//! began outside it unwinds) records nothing: it is counted in [`Metrics::cancelled`], and a
//! half-open probe's slot goes back to the round.
//!
//! # The choice: what the breaker counts when a call retries
//!
//! With `attempts > 1`, `retry` is required and says what the breaker sees:
//!
//! - `retry = "per_attempt"` (retry wraps the breaker): every attempt asks the breaker for
//!   admission and records its outcome. `threshold = 5` means 5 failed requests. When the breaker
//!   opens, or refuses an attempt, the call ends at once: no sleep, no further attempt, and the last
//!   real error is returned.
//! - `retry = "per_call"` (the breaker wraps retry): each call asks once and records one outcome
//!   after its retries. `threshold = 5` with `attempts = 3` means 5 failed *calls*, which is up to
//!   15 failed requests. A call admitted as a half-open probe makes a single attempt, so a probe
//!   sends 1 request, never 3.
//!
//! Against a service that is down, with `threshold = 5` and `attempts = 3`:
//!
//! | `retry`         | the breaker sees | opens after        | a half-open probe sends |
//! |-----------------|------------------|--------------------|-------------------------|
//! | `"per_attempt"` | every attempt    | 5 failed requests  | 1 request               |
//! | `"per_call"`    | each call        | 15 failed requests | 1 request               |
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use breakerbox::{Rejected, State, circuit_breaker};
//! # #[derive(Debug)] pub struct Down;
//! # #[derive(Debug)] pub enum Error { Down, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//!
//! static REQUESTS_A: AtomicU32 = AtomicU32::new(0);
//! static REQUESTS_B: AtomicU32 = AtomicU32::new(0);
//!
//! #[circuit_breaker(threshold = 5, attempts = 3, retry = "per_attempt")]
//! async fn per_attempt() -> Result<(), Error> {
//!     REQUESTS_A.fetch_add(1, Ordering::Relaxed);
//!     Err(Error::Down)
//! }
//!
//! #[circuit_breaker(threshold = 5, attempts = 3, retry = "per_call")]
//! async fn per_call() -> Result<(), Error> {
//!     REQUESTS_B.fetch_add(1, Ordering::Relaxed);
//!     Err(Error::Down)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let state = |f: &str| breakerbox::registry().get(&format!("{}::{f}", module_path!())).unwrap().state();
//! while state("per_attempt") != State::Open {
//!     let _ = per_attempt().await;
//! }
//! while state("per_call") != State::Open {
//!     let _ = per_call().await;
//! }
//! assert_eq!(REQUESTS_A.load(Ordering::Relaxed), 5);
//! assert_eq!(REQUESTS_B.load(Ordering::Relaxed), 15);
//! # }
//! ```
//!
//! Leaving the choice out is a compile error whose message does this arithmetic with your numbers:
//!
//! ```compile_fail
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! // error: `attempts = 3` needs `retry = "per_attempt"` or `retry = "per_call"` to say what the
//! // breaker counts: with `retry = "per_attempt"` the breaker opens after 5 failed requests; with
//! // `retry = "per_call"` after 15 (5 calls x 3 attempts)
//! #[circuit_breaker(attempts = 3)]
//! async fn fetch() -> Result<u32, Error> {
//!     Ok(1)
//! }
//! # fn main() {}
//! ```
//!
//! # The load bound
//!
//! The choice above bounds what one call sends. Two more bounds carry the same idea past one call,
//! so that the load a failing service receives is a number the program states, not an accident of
//! how its fns are layered:
//!
//! | scope | bounded by | what a failing service receives | with the defaults |
//! |---|---|---|---|
//! | one call | `attempts`, `retry` | at most `attempts` requests per call; `per_attempt` stops when the breaker opens; a half-open probe sends 1 | `threshold = 5`, `attempts = 3`: the breaker opens after 5 failed requests (`per_attempt`) or 15 (`per_call`) |
//! | one breaker | [`budget`](#the-retry-budget) (R11) | over the last 10 s, its first attempts and at most `max(budget% of them, 10 per second)` retries | 1,000 failing calls of 3 attempts at once: 1,200 requests (3,000 with `budget = "off"`) |
//! | one nested operation | [`nested`](#nesting) (R12) | the product of the attempts that apply: an inner fn makes 1 attempt per attempt of the retrying fn around it, unless it says `nested = "retry"` | an outer fn of 3 attempts over an inner fn of 3: 3 requests per outer call (9 with `nested = "retry"`) |
//!
//! `cargo run --example demo` shows all three against a local HTTP service that is down.
//!
//! ## The retry budget
//!
//! A breaker's retry budget bounds the retries of every fn on it (R11): over the last 10 seconds
//! (the current second of the breaker's clock and the nine before it), retries stay within
//! `budget` percent of the first attempts, or 10 retries per second ([`BUDGET_MIN_PER_SECOND`]
//! over [`BUDGET_WINDOW`], 100 per window) when that is more. The default is 20%
//! ([`Budget::DEFAULT`]); `budget = "off"` ([`Budget::Off`]) lets every call retry as written.
//!
//! - A retry is decided when the attempt before it fails, before the wait. A retry the budget
//!   denies is not made and not waited for: the call returns its last real error at once. It is
//!   counted in [`Metrics::retries_denied`], and a DEBUG event says why (see
//!   [`tracing`](#tracing)).
//! - A first attempt counts when it fails, for a fn that may retry; a success of any call on the
//!   breaker (fns that never retry included) counts too, read from the counts the breaker keeps
//!   anyway and dated to the budget's previous look at them (the last retry decision), never
//!   later than it happened. Successes made before the budget's first retry decision, or more
//!   than 10 s after the last one, are not counted: after a quiet spell, an outage starts from the
//!   floor and its own failing first attempts, which is when the service most needs the bound.
//! - A successful call and a fn that never retries pay nothing for the budget: it is touched on
//!   the failure path only, without a lock or an allocation.
//! - [`Breaker::reset`] empties the breaker's counts, not its budget: the budget is about the
//!   load of the last 10 s, which a reset does not undo.
//!
//! A fn called a few times a minute always retries as written: the floor alone allows 100 retries
//! in 10 s. A storm does not:
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use breakerbox::{Backoff, Breaker, Budget, CallPolicy, Config, Granularity, Rejected, TimedOut, Verdict};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected), TimedOut(TimedOut) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! # impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
//!
//! /// A breaker that this outage never opens (or one that is disabled): only the budget is left.
//! const fn config(name: &'static str, budget: Budget) -> Config {
//!     match Config::builder(name).threshold(u32::MAX).budget(budget).build() {
//!         Ok(config) => config,
//!         Err(_) => panic!(),
//!     }
//! }
//! static BUDGETED: Breaker = Breaker::new(config("budgeted", Budget::DEFAULT));
//! static UNBOUNDED: Breaker = Breaker::new(config("unbounded", Budget::Off));
//! const THREE: CallPolicy = match CallPolicy::builder()
//!     .attempts(3)
//!     .retry(Granularity::PerCall)
//!     .backoff(Backoff::Fixed(Duration::from_millis(100)))
//!     .build()
//! {
//!     Ok(policy) => policy,
//!     Err(_) => panic!(),
//! };
//! static REQUESTS: AtomicU32 = AtomicU32::new(0);
//!
//! async fn fetch(breaker: &'static Breaker) -> Result<(), Error> {
//!     THREE.run(breaker, Verdict::transient, || async {
//!         REQUESTS.fetch_add(1, Ordering::Relaxed);
//!         Err(Error::Unavailable)
//!     }).await
//! }
//!
//! /// 1,000 calls at once against a service that is down; the requests it received.
//! async fn storm(breaker: &'static Breaker) -> u32 {
//!     let calls: Vec<_> = (0..1_000).map(|_| tokio::spawn(fetch(breaker))).collect();
//!     for call in calls {
//!         assert!(call.await.unwrap().is_err());
//!     }
//!     REQUESTS.swap(0, Ordering::Relaxed)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(storm(&UNBOUNDED).await, 3_000);
//! assert_eq!(storm(&BUDGETED).await, 1_200); // 1,000 first attempts, 20% retries
//! let m = BUDGETED.metrics();
//! assert_eq!((m.retries, m.retries_denied), (200, 1_000));
//! # }
//! ```
//!
//! ## Nesting
//!
//! While an attempt of a retrying annotated fn runs, an annotated fn it calls in the same task
//! makes a single attempt, unless it says `nested = "retry"` ([`Nested::Retry`]) (R12): the outer
//! fn's retries are the only ones, and a failing service behind two layers of 3 attempts receives
//! 3 requests per outer call, not 9. A call cut to one attempt that would have retried is counted
//! in [`Metrics::nested_single`] of its breaker. A fn called outside any annotated fn is not
//! affected, and checking costs a call one thread-local read.
//!
//! Each nesting seen is recorded once in the registry as an edge ([`Registry::edges`]): the outer
//! call site, the inner one, and the worst-case requests per outer call (the outer fn's attempts
//! times the inner fn's attempts that apply). The registry's table and the actuator example's
//! `GET /breakers` list them.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//!
//! static REQUESTS: AtomicU32 = AtomicU32::new(0);
//!
//! #[circuit_breaker(name = "prices", threshold = 100, attempts = 3, retry = "per_call", backoff = "10ms")]
//! async fn price(sku: u32) -> Result<u32, Error> {
//!     REQUESTS.fetch_add(1, Ordering::Relaxed);
//!     Err(Error::Unavailable)
//! }
//!
//! #[circuit_breaker(name = "pages", threshold = 100, attempts = 3, retry = "per_call", backoff = "10ms")]
//! async fn page(sku: u32) -> Result<String, Error> {
//!     let price = price(sku).await?;
//!     Ok(format!("{sku}: {price}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert!(price(7).await.is_err());
//! assert_eq!(REQUESTS.swap(0, Ordering::Relaxed), 3); // on its own: as written
//! assert!(page(7).await.is_err());
//! assert_eq!(REQUESTS.swap(0, Ordering::Relaxed), 3); // nested: 3 x 1
//! let edge = breakerbox::registry().edges().next().unwrap();
//! assert_eq!((edge.outer().breaker().name(), edge.inner().breaker().name()), ("pages", "prices"));
//! assert_eq!(edge.worst_case(), 3);
//! # }
//! ```
//!
//! The scope follows the task that runs the attempt, on the thread that polls it: a task started
//! with `tokio::spawn` (or a thread) starts outside any scope, and its annotated calls retry as
//! written. To count them as nested, pass the task's future through [`in_scope`], which captures
//! the scope where it is called and enters it on each poll (for a thread, [`NestingScope::enter`]).
//! Conversely, a future that a nested executor polls from inside an attempt (a `block_on` inside
//! the attempt) runs in its scope. Calls made through [`CallPolicy::run`] nest and are nested the
//! same way but, having no call site, are not named in edges; [`CallSite::run`] names them.
//!
//! # Keys
//!
//! Every value is a literal checked at compile time; `shared` and `classify` take a path.
//! Durations are strings of an integer and a unit: `"250ms"`, `"30s"`, `"5m"`, `"1h"`. A range
//! `"a..b"` starts at `a`, doubles, and is capped at `b`.
//!
//! | key | scope | value | default |
//! |---|---|---|---|
//! | [`name`](#name) | breaker | the registry key | `module_path::fn_name` |
//! | [`threshold`](#threshold) | breaker | recorded failures in a row that open it, >= 1 | 5 |
//! | [`failure_rate`](#failure_rate-window-min_calls) | breaker | percent 1..=100 of failures in the window | none |
//! | [`slow`, `slow_rate`](#slow-and-slow_rate) | breaker | a call slower than `slow` is slow; percent 1..=100 of slow calls in the window | none |
//! | [`window`](#failure_rate-window-min_calls) | breaker | last N outcomes, or a duration, for a rate | 100 |
//! | [`min_calls`](#failure_rate-window-min_calls) | breaker | outcomes needed before a rate is judged | 10 |
//! | [`reset`](#reset) | breaker | how long it stays open; a range backs off | `"30s"` |
//! | [`probes`](#probes) | breaker | trial calls per half-open round | 1 |
//! | [`budget`](#budget) | breaker | retries on top of first attempts: `"20%"` (1..=100), or `"off"` | `"20%"`, at least 10 retries/s |
//! | [`shared`](#shared) | breaker | path to a `#[shared_breaker]` static | none |
//! | [`attempts`](#attempts-and-retry) | call | total attempts per call, 1..=100 | 1 |
//! | [`retry`](#attempts-and-retry) | call | `"per_attempt"` or `"per_call"` | required when `attempts > 1` |
//! | [`backoff`](#backoff-and-jitter) | call | fixed `"200ms"` or range `"100ms..2s"` | `"100ms..10s"` |
//! | [`jitter`](#backoff-and-jitter) | call | `true` / `false`: waits drawn from `[0, backoff]` | `true` |
//! | [`timeout`](#timeout) | call | deadline of each attempt, `async fn` only | none |
//! | [`classify`](#classify) | call | path to `fn(&E) -> Verdict` | every `Err` is `Transient` |
//! | [`nested`](#nested) | call | `"retry"`: keep retrying inside another retrying fn's attempt | a single attempt there |
//! | [`crate`](#crate) | - | path of this crate, as a string | `"::breakerbox"` |
//!
//! The examples below share this error type:
//!
//! ```
//! use breakerbox::{Rejected, TimedOut};
//!
//! #[derive(Debug)]
//! pub enum Error {
//!     Unavailable,
//!     NotFound,
//!     Rejected(Rejected),
//!     TimedOut(TimedOut),
//! }
//!
//! impl From<Rejected> for Error {
//!     fn from(r: Rejected) -> Self {
//!         Error::Rejected(r)
//!     }
//! }
//!
//! impl From<TimedOut> for Error {
//!     fn from(t: TimedOut) -> Self {
//!         Error::TimedOut(t)
//!     }
//! }
//! ```
//!
//! ## `name`
//!
//! The breaker's key in the [`registry`]. The default, the fn's path, leaves out the type of a
//! method: two methods of one module with one fn name need a `name` on one of them (see
//! [two breakers, one name](#two-breakers-one-name)).
//!
//! ```
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! #[circuit_breaker(name = "users-api")]
//! fn get_user(id: u64) -> Result<u64, Error> {
//!     Ok(id)
//! }
//!
//! // Listed before its first call.
//! assert!(breakerbox::registry().get("users-api").is_some());
//! # let _ = get_user(1);
//! ```
//!
//! ## `threshold`
//!
//! Recorded failures in a row that open the breaker; a success starts the count again.
//!
//! ```
//! # use breakerbox::{Rejected, State, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! #[circuit_breaker(name = "flaky", threshold = 2)]
//! fn flaky() -> Result<(), Error> {
//!     Err(Error::Unavailable)
//! }
//!
//! let _ = flaky();
//! let _ = flaky();
//! assert_eq!(breakerbox::registry().get("flaky").unwrap().state(), State::Open);
//! assert!(matches!(flaky(), Err(Error::Rejected(_))));
//! ```
//!
//! ## `failure_rate`, `window`, `min_calls`
//!
//! Opens when at least `failure_rate` percent of the outcomes in the window are failures, once the
//! window holds `min_calls` outcomes. `window` is a count (the last N outcomes) or a duration (the
//! outcomes of the last T). `threshold` and `failure_rate` are two policies: give one.
//!
//! ```
//! # use breakerbox::{Rejected, State, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! #[circuit_breaker(name = "search", failure_rate = 50, window = 10, min_calls = 4)]
//! fn search(ok: bool) -> Result<(), Error> {
//!     if ok { Ok(()) } else { Err(Error::Unavailable) }
//! }
//!
//! let _ = search(true);
//! let _ = search(false);
//! let _ = search(true);
//! let search_breaker = breakerbox::registry().get("search").unwrap();
//! assert_eq!(search_breaker.state(), State::Closed); // 3 outcomes: not judged yet
//! let _ = search(false); // 2 failures of 4: 50%
//! assert_eq!(search_breaker.state(), State::Open);
//! ```
//!
//! ```
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! // The outcomes of the last minute.
//! #[circuit_breaker(failure_rate = 25, window = "60s", min_calls = 20)]
//! fn checkout() -> Result<(), Error> {
//!     Ok(())
//! }
//! # checkout().unwrap();
//! ```
//!
//! ## `slow` and `slow_rate`
//!
//! A call that takes longer than `slow` is slow, whether it succeeds or fails; the breaker opens
//! when at least `slow_rate` percent of the outcomes in the window were slow, once the window holds
//! `min_calls` outcomes. The two keys go together. They share `window` and `min_calls` with
//! `failure_rate`, and work beside either failure policy: with `threshold = 5, slow = "2s",
//! slow_rate = 50`, the breaker opens after 5 failures in a row, or when half the recent calls
//! took more than 2 s.
//!
//! ```
//! # use std::time::Duration;
//! # use breakerbox::{Rejected, State, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! #[circuit_breaker(name = "reports", slow = "2s", slow_rate = 50, window = 10, min_calls = 4)]
//! async fn reports() -> Result<(), Error> {
//!     tokio::time::sleep(Duration::from_secs(3)).await; // always slow
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! for _ in 0..4 {
//!     reports().await.unwrap();
//! }
//! // 4 slow calls of 4, at least 50%: open, although every call succeeded.
//! assert_eq!(breakerbox::registry().get("reports").unwrap().state(), State::Open);
//! # }
//! ```
//!
//! ## `reset`
//!
//! How long the breaker stays open before it admits probes. A range starts at its low end and
//! doubles after each failed probe round, up to its high end; a close starts it again.
//!
//! ```
//! # use std::time::Duration;
//! # use breakerbox::{Rejected, State, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! #[circuit_breaker(name = "inventory", threshold = 1, reset = "1s..8s")]
//! async fn inventory() -> Result<(), Error> {
//!     Err(Error::Unavailable)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let b = breakerbox::registry().get("inventory").unwrap();
//! let _ = inventory().await;
//! assert_eq!(b.remaining_open(), Some(Duration::from_secs(1)));
//! tokio::time::advance(Duration::from_secs(1)).await;
//! let _ = inventory().await; // the probe fails: open for twice as long
//! assert_eq!(b.remaining_open(), Some(Duration::from_secs(2)));
//! # }
//! ```
//!
//! ## `probes`
//!
//! Trial calls admitted per half-open round; that many successes close the breaker, and any
//! recorded failure opens it again.
//!
//! ```
//! # use std::time::Duration;
//! # use std::sync::atomic::{AtomicBool, Ordering};
//! # use breakerbox::{Rejected, State, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! static UP: AtomicBool = AtomicBool::new(false);
//!
//! #[circuit_breaker(name = "ledger", threshold = 1, reset = "1s", probes = 2)]
//! async fn ledger() -> Result<(), Error> {
//!     if UP.load(Ordering::Relaxed) { Ok(()) } else { Err(Error::Unavailable) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let b = breakerbox::registry().get("ledger").unwrap();
//! let _ = ledger().await;
//! UP.store(true, Ordering::Relaxed);
//! tokio::time::advance(Duration::from_secs(1)).await;
//! ledger().await.unwrap();
//! assert_eq!(b.state(), State::HalfOpen); // one probe of two
//! ledger().await.unwrap();
//! assert_eq!(b.state(), State::Closed);
//! # }
//! ```
//!
//! ## `budget`
//!
//! The retries a breaker's calls may make on top of their first attempts: over the last 10 s, at
//! most `budget` percent of the first attempts, or 10 retries per second when that is more. A
//! retry the budget denies is not made: the call returns its last error at once, without
//! sleeping. The budget belongs to the breaker, so the fns that share one share its budget;
//! `"off"` lets every call retry as written. It bounds the load retries add to a failing service:
//! with the default `"20%"`, at most 1.2 times the calls it would receive without retries. How it
//! counts, with a storm's numbers: [The retry budget](#the-retry-budget).
//!
//! ```
//! # use breakerbox::{Budget, Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! #[circuit_breaker(name = "budgeted.quotes", attempts = 3, retry = "per_attempt", budget = "10%")]
//! fn quote(sku: u64) -> Result<u64, Error> {
//!     Ok(sku * 100)
//! }
//!
//! let quotes = breakerbox::registry().get("budgeted.quotes").unwrap();
//! assert_eq!(quotes.config().budget(), Budget::Percent(10));
//! # assert_eq!(quote(1).unwrap(), 100);
//! ```
//!
//! ## `shared`
//!
//! One breaker for several fns (one service, many endpoints), declared once with
//! [`shared_breaker`], which takes the breaker keys. `shared` excludes every other breaker key on
//! the fn; the call keys stay per fn.
//!
//! ```
//! # use breakerbox::{Rejected, State, circuit_breaker, shared_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! /// The payments service.
//! #[shared_breaker(threshold = 2, reset = "1s..60s")]
//! pub static PAYMENTS: breakerbox::Breaker;
//!
//! #[circuit_breaker(shared = PAYMENTS, attempts = 3, retry = "per_call", backoff = "1ms")]
//! async fn charge(cents: u64) -> Result<u64, Error> {
//!     Err(Error::Unavailable)
//! }
//!
//! #[circuit_breaker(shared = PAYMENTS)]
//! async fn refund(cents: u64) -> Result<u64, Error> {
//!     Err(Error::Unavailable)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let _ = charge(100).await;
//! let _ = refund(100).await;
//! assert_eq!(PAYMENTS.state(), State::Open); // one failure from each
//! assert_eq!(PAYMENTS.call_sites().len(), 2);
//! # }
//! ```
//!
//! ## `attempts` and `retry`
//!
//! Total attempts per call, and what the breaker counts of them (see [the choice](#the-choice-what-the-breaker-counts-when-a-call-retries)).
//! Each attempt gets its own copy of the by-value arguments: clones for every attempt but the
//! last, which gets the original, so they must be `Clone`; `&mut` arguments are lent again to each
//! attempt. An argument whose type, as written, the compiler copies (a number, `bool`, `char`, a
//! shared reference, a tuple or array of them) is copied for each attempt, or read in place when
//! it is not `mut`: no clone, no bookkeeping. A by-value `self` is lent to each attempt, not cloned, so a body that consumes `self`
//! cannot retry. Arguments destructured in the signature must be bound to a name to retry.
//!
//! ```
//! # use std::sync::atomic::{AtomicU32, Ordering};
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! static TRIES: AtomicU32 = AtomicU32::new(0);
//!
//! #[circuit_breaker(name = "upload", attempts = 3, retry = "per_call", backoff = "100ms")]
//! async fn upload(body: Vec<u8>) -> Result<usize, Error> {
//!     match TRIES.fetch_add(1, Ordering::Relaxed) {
//!         0 | 1 => Err(Error::Unavailable),
//!         _ => Ok(body.len()),
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert_eq!(upload(vec![1, 2, 3]).await.unwrap(), 3);
//! let m = breakerbox::registry().get("upload").unwrap().metrics();
//! assert_eq!((m.successes, m.failures, m.retries), (1, 0, 2)); // per_call: one success
//! # }
//! ```
//!
//! ## `backoff` and `jitter`
//!
//! The wait before each retry: a fixed duration, or a range that starts at its low end and doubles
//! up to its high end. With `jitter` (the default) each wait is drawn uniformly from
//! `[0, backoff]`. `backoff = "0ms"` retries at once.
//!
//! ```
//! # use std::sync::atomic::{AtomicU32, Ordering};
//! # use std::time::Duration;
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! #[circuit_breaker(attempts = 4, retry = "per_attempt", threshold = 10, backoff = "100ms..250ms", jitter = false)]
//! async fn poll() -> Result<(), Error> {
//!     Err(Error::Unavailable)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = tokio::time::Instant::now();
//! let _ = poll().await;
//! assert_eq!(start.elapsed(), Duration::from_millis(100 + 200 + 250));
//! # }
//! ```
//!
//! ## `timeout`
//!
//! A deadline for each attempt of an `async fn`. An attempt that misses it is cut off and counts as
//! a transient failure (recorded, and retried); the call returns `Err(TimedOut.into())` when it was
//! the last.
//!
//! ```
//! # use std::time::Duration;
//! # use breakerbox::{Rejected, TimedOut, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Rejected(Rejected), TimedOut(TimedOut) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! # impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
//! #[circuit_breaker(name = "report", timeout = "2s")]
//! async fn report() -> Result<(), Error> {
//!     tokio::time::sleep(Duration::from_secs(60)).await;
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! assert!(matches!(report().await, Err(Error::TimedOut(t)) if t.after() == Duration::from_secs(2)));
//! assert_eq!(breakerbox::registry().get("report").unwrap().metrics().timeouts, 1);
//! # }
//! ```
//!
//! ## `classify`
//!
//! What each error means ([`Verdict`]): `Transient` is recorded and retried, `Permanent` is
//! recorded and not retried, `Ignore` (the caller's fault: a 404, a validation error) is neither
//! recorded nor retried. Without `classify`, every `Err` is `Transient`.
//!
//! ```
//! # use breakerbox::{Rejected, Verdict, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, NotFound, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! fn classify(error: &Error) -> Verdict {
//!     match error {
//!         Error::NotFound => Verdict::Ignore,
//!         _ => Verdict::Transient,
//!     }
//! }
//!
//! #[circuit_breaker(name = "profiles", threshold = 1, classify = classify)]
//! fn profile(id: u64) -> Result<u64, Error> {
//!     Err(Error::NotFound)
//! }
//!
//! let _ = profile(404);
//! let m = breakerbox::registry().get("profiles").unwrap().metrics();
//! assert_eq!((m.ignored, m.failures), (1, 0));
//! ```
//!
//! ## `nested`
//!
//! A retrying fn called inside an attempt of another retrying annotated fn, in the same task,
//! makes a single attempt there: the outer call's retries are the only ones, so a service behind
//! two layers of 3 attempts receives 3 requests per outer call, not 9. `nested = "retry"` keeps the
//! fn's own retries there too, and the requests multiply. The single attempt is the default and
//! has no spelling of its own. What is recorded, and how to carry the scope into a spawned task:
//! [Nesting](#nesting).
//!
//! ```
//! # use breakerbox::{Nested, Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! #[circuit_breaker(name = "stock", attempts = 2, retry = "per_call", nested = "retry")]
//! fn stock(sku: u64) -> Result<u64, Error> {
//!     Ok(sku)
//! }
//!
//! let site = &breakerbox::registry().get("stock").unwrap().call_sites()[0];
//! assert_eq!(site.policy().nested(), Nested::Retry);
//! # assert_eq!(stock(7).unwrap(), 7);
//! ```
//!
//! ## `crate`
//!
//! The generated code names this crate as `::breakerbox`. A crate that depends on it under another
//! name (`bb = { package = "breakerbox", .. }` in Cargo.toml), or reaches it through a crate that
//! re-exports it, says where it is, on both attributes; without it, a renamed dependency is a
//! compile error that names the `crate = ".."` to write.
//!
//! ```
//! # use breakerbox::{Rejected, circuit_breaker, shared_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! mod framework {
//!     // A crate of yours that re-exports this one.
//!     pub mod resilience {
//!         pub use breakerbox::*;
//!     }
//! }
//!
//! #[shared_breaker(crate = "framework::resilience", threshold = 3)]
//! static SEARCH: breakerbox::Breaker;
//!
//! #[circuit_breaker(crate = "framework::resilience", shared = SEARCH)]
//! fn search(q: &str) -> Result<usize, Error> {
//!     Ok(q.len())
//! }
//!
//! assert_eq!(search("rust").unwrap(), 4);
//! assert_eq!(SEARCH.metrics().successes, 1);
//! ```
//!
//! # Rejected at compile time
//!
//! Each with an error on the offending token that says what to write instead:
//!
//! 1. `attempts > 1` without `retry`; the message shows what each choice means with your numbers.
//! 2. `retry`, `backoff`, `jitter`, `nested` or `budget` with `attempts` absent or 1: no effect.
//! 3. `threshold` together with `failure_rate`; `window` or `min_calls` without a rate
//!    (`failure_rate` or `slow_rate`); `min_calls` larger than a count `window`; `slow` without
//!    `slow_rate`, or the reverse.
//! 4. `shared` together with any breaker key (and call keys on a `#[shared_breaker]`).
//! 5. `timeout` on a fn that is not `async`.
//! 6. A return type that is not a `Result` (checked by type, so aliases such as
//!    `anyhow::Result<T>` pass), no return type, a `const fn`, an item that is not a fn,
//!    `#[track_caller]` (the body runs inside the breaker's call wrapper, so
//!    `Location::caller()` could only name the wrapper).
//! 7. A second `#[circuit_breaker]`, or a retry attribute of another crate (`#[retry]`,
//!    `#[retryable]`, `#[backon::retry]`, ...) below it on the same fn: stacked, the order they
//!    wrap each other in decides what the breaker counts, and nothing shows it.
//! 8. An unknown key (the nearest is suggested; the names other libraries use, such as `retries`,
//!    `max_attempts` or `timeout_ms`, are rewritten in these terms: `retries = 3` is
//!    `attempts = 4`), a duplicate key, a value of the wrong kind (an integer for a duration
//!    suggests `"30s"`), zero where a positive value is needed, a percent out of range, an
//!    unparsable or overflowing duration, a range whose end is below its start, an unknown `retry`
//!    granularity, a time `window` under 20 ms.
//! 9. With `attempts > 1`, a by-value argument that is not `Clone`.
//! 10. An error type without `From<Rejected>` (or `From<TimedOut>` when `timeout` is set), or a
//!     `classify` fn of another signature than `fn(&E) -> Verdict`.
//!     `std::io::Error` has both, so an `std::io::Result<T>` fn can be annotated as it is: a
//!     rejection arrives as an error of kind `Other`, a timeout as kind `TimedOut`.
//!
//! ```compile_fail
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! // error: unknown key `treshold`; did you mean `threshold`?
//! #[circuit_breaker(treshold = 5)]
//! fn fetch() -> Result<u32, Error> {
//!     Ok(1)
//! }
//! # fn main() {}
//! ```
//!
//! ```compile_fail
//! # use breakerbox::circuit_breaker;
//! // error: `#[circuit_breaker]` needs a fn that returns `Result<T, E>`, not `u32`
//! #[circuit_breaker(threshold = 5)]
//! fn count() -> u32 {
//!     1
//! }
//! # fn main() {}
//! ```
//!
//! # Observing breakers
//!
//! Every annotated fn's breaker is in [`registry()`] from process start, before its first call:
//! list them, look one up by name, control it ([`Breaker::force_open`], [`Breaker::disable`],
//! [`Breaker::reset`]), or print the registry as a table. [`Registry::subscribe`] streams every
//! state transition ([`Transition`]: breaker, from, to, when, why, and the generation it created);
//! one breaker's transitions arrive in the order they happened, each one's generation the previous
//! one's plus one. The stream is bounded, so a subscriber that falls behind loses the oldest
//! transitions and is told how many ([`Lagged`]), and never slows a call.
//!
//! [`Breaker::reset`] closes a breaker with empty counts whatever its state, closed included: the
//! trip policy's failures, the half-open round, the failed rounds and every [`Metrics`] count
//! start again from zero (a call in flight across the reset is counted `late` when it ends).
//!
//! ## The registry's table
//!
//! `registry()` displays as a table, one row per breaker, sorted by name (then, when nestings
//! have been seen, one line per nesting edge: see [the load bound](#the-load-bound)):
//!
//! | column | what it shows |
//! |---|---|
//! | `BREAKER` | the breaker's name |
//! | `STATE` | `closed`, `open`, `half_open`, `forced_open` or `disabled` ([`State::as_str`]) |
//! | `FAILURES` | closed only (`-` otherwise): the consecutive policy's `2/5 in a row` (failures in a row of `threshold`), or the failure-rate policy's `40% of 20 (opens at 50%)` (failures among the outcomes in the window) |
//! | `REJECTED` | calls refused without running since the breaker was built or last reset ([`Metrics::rejected`]) |
//! | `RETRIES DENIED` | retries the breaker's budget refused ([`Metrics::retries_denied`]); `-` with `budget = "off"` |
//! | `OPEN FOR` | open: the time *remaining* until it admits a probe, not the whole `reset` period ([`Breaker::remaining_open`]); forced open: `until reset`; otherwise `-` |
//!
//! The remaining time is what the actuator example's JSON reports as `open_for_ms` too. An open
//! breaker whose period has run out reads `0.0s` until the next call asks for admission and
//! becomes its probe: states change on calls, not on a timer.
//!
//! ```
//! # use std::time::Duration;
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! #[circuit_breaker(name = "table.search", threshold = 3, reset = "30s")]
//! async fn search(ok: bool) -> Result<(), Error> {
//!     if ok { Ok(()) } else { Err(Error::Unavailable) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let row = |name: &str| -> Vec<String> {
//!     let table = breakerbox::registry().to_string();
//!     let line = table.lines().find(|l| l.starts_with(name)).unwrap();
//!     line.split("  ").map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect()
//! };
//! let _ = search(false).await;
//! let _ = search(false).await;
//! assert_eq!(row("table.search"), ["table.search", "closed", "2/3 in a row", "0", "0", "-"]);
//! let _ = search(false).await; // opens
//! let _ = search(true).await; // rejected
//! tokio::time::advance(Duration::from_secs(10)).await;
//! assert_eq!(row("table.search"), ["table.search", "open", "-", "1", "0", "20.0s"]);
//! # }
//! ```
//!
//! ## Two breakers, one name
//!
//! A breaker's default name is the fn's path, `module_path::fn_name`, which leaves out the type
//! of a method: two methods named `get` in two `impl` blocks of one module both get the name
//! `my_app::store::get`. Breakers are only ever shared through `shared = PATH`, so that is a
//! programming error, and it is reported once: the first call of [`registry()`] in the process
//! panics with a message that names both source locations and says what to write. Every later
//! call returns the registry, which lists both breakers (ordered by file, then line, and
//! [`Registry::get`] returns the first); each method keeps calling through its own breaker.
//! [`Registry::check`] reports the duplicates, so a test of your program can assert there are
//! none. Give one of them a `name`:
//!
//! ```
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub struct Error;
//! # impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }
//! mod store {
//!     # use super::{Error, circuit_breaker};
//!     pub struct Users;
//!     pub struct Orders;
//!
//!     impl Users {
//!         // Named `<module path>::store::get`.
//!         #[circuit_breaker(threshold = 5)]
//!         pub fn get(&self, id: u64) -> Result<u64, Error> {
//!             Ok(id)
//!         }
//!     }
//!
//!     impl Orders {
//!         // Named `orders`: without it, this one too would be `<module path>::store::get`.
//!         #[circuit_breaker(name = "orders", threshold = 5)]
//!         pub fn get(&self, id: u64) -> Result<u64, Error> {
//!             Ok(id)
//!         }
//!     }
//! }
//!
//! # fn main() {
//! // In a test of your program:
//! assert_eq!(breakerbox::registry().check(), Ok(()));
//! # assert_eq!(store::Users.get(1).unwrap() + store::Orders.get(2).unwrap(), 3);
//! # }
//! ```
//!
//! ## `tracing`
//!
//! These names and fields are stable; dashboards and log queries may depend on them.
//!
//! | what | kind | level | target | name | fields |
//! |---|---|---|---|---|---|
//! | a breaker opened | event | `WARN` | `breakerbox` | - | `breaker`, `from`, `to` (`"open"`), `reason`, `generation`, `message` |
//! | any other transition | event | `INFO` | `breakerbox` | - | `breaker`, `from`, `to`, `reason`, `generation`, `message` |
//! | one attempt of a call | span | `DEBUG` | `breakerbox` | `breaker.attempt` | `breaker`, `attempt` (from 1), `attempts` |
//! | a retry the budget denied | event | `DEBUG` | `breakerbox` | - | `breaker`, `retries`, `first_attempts`, `allowed`, `budget_percent`, `message` |
//! | a nesting recorded (once) | event | `DEBUG` | `breakerbox` | - | `outer`, `inner`, `worst_case`, `message` |
//!
//! States are written `closed`, `open`, `half_open`, `forced_open`, `disabled` ([`State::as_str`]);
//! reasons `consecutive_failures`, `failure_rate`, `reset_elapsed`, `probe_failed`,
//! `probes_succeeded`, `probe_round_expired`, `forced_open`, `disabled`, `reset`, `restored`
//! ([`Reason::as_str`]). Per-call outcomes are not logged: they are counted in [`Metrics`].
//!
//! ## Feature `metrics`
//!
//! Counters `breaker_admitted_total`, `breaker_successes_total`, `breaker_failures_total`,
//! `breaker_ignored_total`, `breaker_rejected_total`, `breaker_timeouts_total`,
//! `breaker_late_total`, `breaker_retries_total`, `breaker_retries_denied_total`,
//! `breaker_nested_single_total`, `breaker_cancelled_total` and the gauge
//! `breaker_state` (0 closed, 1 open,
//! 2 half-open, 3 forced open, 4 disabled), each labelled `breaker = <name>`, through the
//! [`metrics`](https://docs.rs/metrics) facade. They are published by
//! `registry().export_metrics()`, which a scrape handler calls before rendering (or a task calls
//! on a timer), from the counts the breakers keep anyway: neither a call nor a transition touches
//! the recorder.
//!
//! ## Feature `serde`
//!
//! `registry().snapshot()` captures every breaker's state and remaining open time as a
//! serializable [`Snapshot`]; `registry().restore(&snapshot)` brings open, forced-open and
//! disabled states back in a new process, taking off the wall-clock time that passed, so a service
//! restarted mid-outage does not hammer the dependency that is down. A snapshot of another format,
//! or one naming a breaker the program does not have, is refused whole ([`RestoreError`]).
//!
//! # Breakers built at run time
//!
//! A breaker whose name or numbers come from configuration is built with
//! [`Breaker::new_named`] (the name, then a [`Config`]) and is first-class once
//! [`Registry::register`] lists it: it is in [`Registry::iter`], [`Registry::get`] and the table,
//! controlled like the attributes' breakers, in [`Registry::snapshot`] and in the metrics export.
//! [`Registry::register`] keeps it for the rest of the process and returns a `&'static Breaker`;
//! a second breaker under a name already taken is refused.
//!
//! [`CallPolicy::run`] (async) and [`CallPolicy::run_blocking`] retry an operation under such a
//! breaker as `#[circuit_breaker]` does, with the same rules: `retry` granularity, `classify`,
//! backoff and jitter, `timeout` (async only).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use breakerbox::{Breaker, CallPolicy, Config, Granularity, Rejected, Reset, TimedOut, Verdict, registry};
//!
//! #[derive(Debug)]
//! pub enum Error { Unavailable, Rejected(Rejected), TimedOut(TimedOut) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! # impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Read from configuration at start-up.
//! let (region, threshold, reset_secs) = ("eu", 3, 10);
//!
//! let config = Config::builder("inventory")
//!     .threshold(threshold)
//!     .reset(Reset::Fixed(Duration::from_secs(reset_secs)))
//!     .build()?;
//! let inventory = Arc::new(Breaker::new_named(format!("inventory.{region}"), config));
//! registry().register(Arc::clone(&inventory))?;
//! assert!(registry().get("inventory.eu").is_some());
//!
//! let policy = CallPolicy::builder()
//!     .attempts(3)
//!     .retry(Granularity::PerAttempt)
//!     .timeout(Duration::from_secs(2))
//!     .build()?;
//! let stock = policy
//!     .run(&inventory, Verdict::transient, || async { Ok::<u32, Error>(12) })
//!     .await
//!     .unwrap();
//! assert_eq!(stock, 12);
//!
//! // A `'static` permit, for a future that must own what it holds (a spawned task's).
//! let permit = inventory.acquire_owned()?;
//! tokio::spawn(async move { permit.success() }).await?;
//! assert_eq!(inventory.metrics().successes, 2);
//! # Ok(())
//! # }
//! ```
//!
//! A breaker in an [`Arc`](std::sync::Arc) gives [`OwnedPermit`]s ([`Breaker::acquire_owned`]),
//! which hold their breaker and so are `'static`; [`Breaker::try_acquire`] gives a [`Permit`]
//! that borrows it. Both record one outcome (`success`, `failure`, `record(verdict)`) and, dropped
//! unrecorded, count a cancellation (or, in a panic from inside the call, a failure).
//!
//! # Blocking fns and their sleeps
//!
//! A fn that is not `async` retries on its own thread: between attempts it sleeps the thread
//! (`std::thread::sleep`) for the backoff. It has no `timeout` (a compile error: a blocking call
//! cannot be cut off; give the blocking client its own deadline), and tokio's paused time does
//! not shorten its sleeps, so a test of a retrying blocking fn sleeps for real unless its backoff
//! is `"0ms"` or the test kit pins jitter to zero (`Jitter::Min`, see [Testing](#testing)).
//!
//! In async code, do not call a blocking fn that retries from a task: its backoff blocks the
//! executor's worker thread, and with it every task that thread runs (all of them, on a
//! `current_thread` runtime). Annotate the `async fn` instead, or move the call to
//! `tokio::task::spawn_blocking`.
//!
//! # Runtimes
//!
//! What needs a tokio runtime, and what does not (the crate links tokio's `time` either way):
//!
//! | what | needs a tokio runtime |
//! |---|---|
//! | an `async fn` that retries: its backoff sleeps on tokio's timer | yes: a runtime with the time driver (`#[tokio::main]`, or `enable_time`) |
//! | `timeout`: tokio's timer (for a call that retries, made only once an attempt is still pending after its first poll) | yes, as above |
//! | tests with paused time (`start_paused = true`, `tokio::time::pause`) | yes, with tokio's `test-util` feature |
//! | an `async fn` with one attempt and no `timeout` | no: it awaits the body in place, on any executor |
//! | a blocking fn, retrying or not | no: it sleeps with `std::thread::sleep` |
//! | the programmatic API ([`Breaker::try_acquire`], permits, the registry, [`CallPolicy::run_blocking`]) | no |
//!
//! The breakers' clock is `tokio::time::Instant`: outside a runtime it reads the system's
//! monotonic clock; inside a runtime whose time is paused it reads the paused clock, so
//! `tokio::time::pause()` and `advance` drive open periods, half-open rounds and time windows in
//! a test, as the examples here do. [`CallPolicy::run`] sleeps on tokio's timer when it retries,
//! and uses tokio's `timeout` when the policy has one.
//!
//! # Generic fns
//!
//! A breaker is a `static` inside the annotated fn, and a generic fn has one of those for all its
//! instantiations: `parse::<u8>` and `parse::<f64>` call through one breaker, named after the fn,
//! and one type's failures can open it for the other.
//!
//! ```
//! # use breakerbox::{Rejected, circuit_breaker};
//! # #[derive(Debug)] pub enum Error { Invalid, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//! #[circuit_breaker(name = "generic.parse", threshold = 5)]
//! fn parse<T: std::str::FromStr>(text: &str) -> Result<T, Error> {
//!     text.parse().map_err(|_| Error::Invalid)
//! }
//!
//! let _: u8 = parse("7").unwrap();
//! let _: f64 = parse("2.5").unwrap();
//! assert_eq!(breakerbox::registry().get("generic.parse").unwrap().metrics().successes, 2);
//! ```
//!
//! For one breaker per type, give each type a fn of its own with a `name` (a thin wrapper that
//! calls the generic one, unannotated), or build the breakers at run time, one per type, and call
//! through them with [`CallPolicy::run`] (see [above](#breakers-built-at-run-time)).
//!
//! # Testing
//!
//! Breakers live in statics, so they are process-wide, and cargo runs a binary's tests on
//! parallel threads: a test that asserts counts must not share its breaker with a test running
//! beside it, and must not inherit what the previous one left. [`Breaker::reset`] empties one
//! breaker (closed; the trip policy's failures, the half-open round, the failed rounds and every
//! [`Metrics`] count back to zero). Feature `testing` adds a kit, for dev-dependencies only
//! (without it, the call path carries no hook at all):
//!
//! ```toml
//! [dev-dependencies]
//! breakerbox = { version = "0.1", features = ["testing"] }
//! ```
//!
//! - `testing::isolate()` returns a guard that one test of the process holds at a time; it resets
//!   every breaker, disarms every fault and sets jitter back to random when taken and when
//!   dropped. A test that panics holding it does not wedge the next. It is process-wide: take it
//!   in every test that touches breakers. `testing::reset_all()` resets every breaker in the
//!   registry, without the guard.
//! - `testing::set_jitter(Jitter::Max)` pins every jittered wait to its backoff (the upper end of
//!   the draw), so with paused time a test asserts the exact time a call took;
//!   `Jitter::Min` pins it to zero (a blocking fn's test then sleeps no real time).
//! - `testing::fail_next(breaker, n, || error)` makes the next `n` attempts through a breaker
//!   return `error()` without running the body: recorded, classified and retried as the body's
//!   own error would be, so a test exercises the program's fallback path without a failing
//!   server. The breaker is given as `&BREAKER`, an `Arc`, its name, or an annotated fn's path
//!   (which names the breaker the fn calls through: its own, unless it is `shared`). The
//!   factory's type is checked against the fn's error type when an attempt takes the fault: a
//!   mismatch panics, naming both types. Annotated fns and [`CallPolicy::run`] /
//!   [`CallPolicy::run_blocking`] take faults; a permit taken by hand does not.
//!
//! With the feature on, the error types that faults can stand in for must be `'static`, since the
//! check is [`Any`](std::any::Any)'s: an annotated fn whose error type borrows compiles without
//! the feature and not with it ([`Injectable`]).
//!
//! ```
//! # #[cfg(feature = "testing")] mod example {
//! use std::time::Duration;
//! use breakerbox::testing::{self, Jitter};
//! use breakerbox::{Rejected, State, circuit_breaker};
//!
//! #[derive(Debug)]
//! pub enum Error { Unavailable, Rejected(Rejected) }
//! # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
//!
//! #[circuit_breaker(name = "quotes", threshold = 3, attempts = 3, retry = "per_attempt", backoff = "100ms..1s")]
//! async fn live_quote(symbol: &str) -> Result<u32, Error> {
//!     Ok(100 * symbol.len() as u32) // the real client
//! }
//!
//! const CACHED: u32 = 1;
//!
//! /// The code under test: a quote, or the cached one when the service fails.
//! async fn quote(symbol: &str) -> u32 {
//!     live_quote(symbol).await.unwrap_or(CACHED)
//! }
//!
//! // #[tokio::test(start_paused = true)]
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # pub async fn main() {
//! let _guard = testing::isolate(); // one such test at a time, every breaker reset
//! testing::set_jitter(Jitter::Max); // each wait is exactly its backoff
//! let quotes = breakerbox::registry().get("quotes").unwrap();
//! let start = tokio::time::Instant::now();
//!
//! // Two failed attempts, then the service answers.
//! testing::fail_next("quotes", 2, || Error::Unavailable);
//! assert_eq!(quote("ACME").await, 400);
//! assert_eq!(start.elapsed(), Duration::from_millis(100 + 200));
//! let m = quotes.metrics();
//! assert_eq!((m.admitted, m.failures, m.successes, m.retries), (3, 2, 1, 2));
//!
//! // From empty counts, three failed attempts: the third opens it, and the fallback answers.
//! quotes.reset();
//! testing::fail_next("quotes", 3, || Error::Unavailable);
//! assert_eq!(quote("ACME").await, CACHED);
//! assert_eq!(quotes.state(), State::Open);
//! assert_eq!(start.elapsed(), Duration::from_millis(300 + 100 + 200));
//! let m = quotes.metrics();
//! assert_eq!((m.admitted, m.failures, m.successes, m.retries), (3, 3, 0, 2));
//!
//! // Open: refused at once, no attempt, no wait.
//! assert_eq!(quote("ACME").await, CACHED);
//! assert_eq!(quotes.metrics().rejected, 1);
//! assert_eq!(start.elapsed(), Duration::from_millis(600));
//! # }
//! # }
//! # #[cfg(feature = "testing")] fn main() { example::main() }
//! # #[cfg(not(feature = "testing"))] fn main() {}
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

// The public surface, listed: DESIGN's API, and what building breakers and calls by hand needs.
// The retry driver the expansion uses lives in `__private`. `tests/public_api.rs` names each item.
#[cfg(feature = "metrics")]
pub use breaker_core::state_gauge;
pub use breaker_core::{
    BUDGET_MIN_PER_SECOND, BUDGET_WINDOW, Backoff, Breaker, BreakerSnapshot, Budget, CallPolicy,
    CallPolicyBuilder, CallSite, Config, ConfigBuilder, ConfigError, DEFAULT_BACKOFF,
    DuplicateName, DuplicateNames, EVENTS_CAPACITY, EnteredScope, Events, Granularity, InScope,
    Injectable, Lagged, Location, MAX_ATTEMPTS, MAX_COUNT_WINDOW, MAX_PROBES, MIN_TIME_WINDOW,
    Metrics, Name, Nested, NestingEdge, NestingScope, OwnedPermit, Permit, Reason, Registry,
    Rejected, Reset, RestoreError, SNAPSHOT_FORMAT, SlowCalls, Snapshot, State, TimedOut,
    Transition, TripPolicy, Verdict, Window, in_scope, registry,
};
pub use breaker_macros::{circuit_breaker, shared_breaker};

/// The test kit (feature `testing`): isolation of tests that touch breakers, deterministic
/// jitter, injected failures; see [Testing](crate#testing).
#[cfg(feature = "testing")]
pub mod testing {
    pub use breaker_core::testing::{
        Isolation, Jitter, Target, clear_faults, fail_next, faults_left, isolate, reset_all,
        set_jitter,
    };
}

#[doc(hidden)]
pub use breaker_core::__private;

// The traits through which the expansion checks the user's types. rustc names the one that is not
// implemented in its help ("the trait `HoldsRejection` is not implemented for `String`"); with a
// path outside the private module to print, it prints the bare name instead of
// `breakerbox::__private::HoldsRejection`.
#[doc(hidden)]
pub use breaker_core::__private::{
    ClassifyArg, HoldsRejection, HoldsTimeout, IsResult, IsVerdict, RetryArg,
};

/// The README's subscription loop, run (a test only: this item exists for `cargo test --doc`).
///
/// `readme_subscribe.rs` holds the block the README shows under "At run time", checked below to
/// be that block verbatim. It runs here as written, with its `println!` and `eprintln!` recorded,
/// while more transitions than [`EVENTS_CAPACITY`] pass it by: it reports the loss and keeps
/// reading.
///
/// ```standalone_crate
/// use std::sync::Mutex;
///
/// use breakerbox::{EVENTS_CAPACITY, State, shared_breaker};
///
/// #[shared_breaker(name = "payments", threshold = 5)]
/// static PAYMENTS: breakerbox::Breaker;
///
/// /// What the README's block prints, in order.
/// static PRINTED: Mutex<Vec<String>> = Mutex::new(Vec::new());
///
/// macro_rules! println {
///     ($($arg:tt)*) => { PRINTED.lock().unwrap().push(format!($($arg)*)) };
/// }
///
/// macro_rules! eprintln {
///     ($($arg:tt)*) => { PRINTED.lock().unwrap().push(format!($($arg)*)) };
/// }
///
/// fn printed() -> Vec<String> {
///     PRINTED.lock().unwrap().clone()
/// }
///
/// /// Lets the reader task run until it has printed `lines` lines in all.
/// async fn until_printed(lines: usize) {
///     for _ in 0..100_000 {
///         if PRINTED.lock().unwrap().len() >= lines {
///             return;
///         }
///         tokio::task::yield_now().await;
///     }
///     let printed = printed();
///     let last = &printed[printed.len().saturating_sub(3)..];
///     panic!("the README's loop printed {} lines, not {lines}; the last: {last:#?}", printed.len());
/// }
///
/// async fn readme() {
#[doc = include_str!("readme_subscribe.rs")]
/// }
///
/// #[tokio::main(flavor = "current_thread", start_paused = true)]
/// async fn main() {
///     let readme_md = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
///     let block = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/readme_subscribe.rs"));
///     assert!(
///         readme_md.contains(&format!("```rust\n{block}```\n")),
///         "README.md no longer shows src/readme_subscribe.rs as one of its blocks"
///     );
///
///     let reader = tokio::spawn(readme());
///     // The block lists the breakers, forces `payments` open and subscribes, then waits.
///     until_printed(1).await;
///     assert_eq!(printed(), [format!("payments: closed {:?}", PAYMENTS.metrics())]);
///     assert_eq!(PAYMENTS.state(), State::ForcedOpen);
///
///     // More transitions than a subscriber holds, while the reader is not polled.
///     let rounds = EVENTS_CAPACITY / 2 + 50;
///     for _ in 0..rounds {
///         PAYMENTS.reset();
///         PAYMENTS.force_open();
///     }
///     let lost = 2 * rounds - EVENTS_CAPACITY;
///     assert_eq!(lost, 100);
///     let reset = "payments: forced_open -> closed (reset)";
///     let forced = "payments: closed -> forced_open (forced open)";
///
///     // It reports the loss, then reads the transitions still held, oldest first...
///     until_printed(1 + 1 + EVENTS_CAPACITY).await;
///     let lines = printed();
///     assert_eq!(lines[1], "missed 100 transitions");
///     let held: Vec<&str> = (lost..2 * rounds)
///         .map(|i| if i % 2 == 0 { reset } else { forced })
///         .collect();
///     assert_eq!(lines[2..], held);
///
///     // ...and keeps reading: a later transition arrives.
///     PAYMENTS.reset();
///     until_printed(1 + 1 + EVENTS_CAPACITY + 1).await;
///     for _ in 0..100 {
///         tokio::task::yield_now().await;
///     }
///     let lines = printed();
///     assert_eq!(lines.len(), 1 + 1 + EVENTS_CAPACITY + 1);
///     assert_eq!(lines.last().unwrap(), reset);
///     assert!(!reader.is_finished());
///     reader.abort();
/// }
/// ```
#[cfg(doctest)]
pub struct ReadmeSubscribe;
