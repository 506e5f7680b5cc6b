//! The `#[circuit_breaker]` and `#[shared_breaker]` attributes of the
//! [`breakerbox`](https://docs.rs/breakerbox) crate; see its documentation for both.
//!
//! Three phases, one file each: `args` parses the keys into typed values, `validate` checks them
//! together and against the item, `expand` writes code from the validated data. On any error the
//! item is emitted as written beside the errors, so callers still type-check.
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![forbid(unsafe_code)]

mod args;
mod expand;
mod limits;
mod validate;

use proc_macro::TokenStream;

/// Puts a fn behind a circuit breaker, with optional retry, and makes the fn say what the breaker
/// counts when it retries.
///
/// ```ignore
/// use breakerbox::{Rejected, circuit_breaker};
///
/// #[derive(Debug)]
/// enum ApiError {
///     Down,
///     Rejected(Rejected),
/// }
///
/// impl From<Rejected> for ApiError {
///     fn from(r: Rejected) -> Self {
///         ApiError::Rejected(r)
///     }
/// }
///
/// #[circuit_breaker(threshold = 5, reset = "30s", attempts = 3, retry = "per_attempt", backoff = "100ms..2s")]
/// async fn fetch_user(id: u64) -> Result<String, ApiError> {
///     if id == 0 { Err(ApiError::Down) } else { Ok(format!("user {id}")) }
/// }
/// ```
///
/// (Marked `ignore`: the examples of a proc-macro crate cannot use the `breakerbox` crate, whose
/// [documentation](https://docs.rs/breakerbox) runs an example of every key.)
///
/// The fn returns `Result<T, E>` (checked by type: `io::Result<T>` and `anyhow::Result<T>` pass)
/// with `E: From<breakerbox::Rejected>`, and `E: From<breakerbox::TimedOut>` with `timeout`. It
/// keeps its signature, visibility, docs, attributes, generics, `self` receiver and `Send`-ness;
/// only its body is wrapped.
///
/// # Keys
///
/// Every value is a literal checked at compile time; `shared` and `classify` take a path.
/// Durations are strings of an integer and a unit: `"250ms"`, `"30s"`, `"5m"`, `"1h"`; a range
/// `"a..b"` starts at `a`, doubles, and is capped at `b`.
///
/// | key | scope | value | default |
/// |---|---|---|---|
/// | `name` | breaker | string: the breaker's key in the registry | `module_path::fn_name` |
/// | `threshold` | breaker | recorded failures in a row that open it, >= 1 | 5 (when no `failure_rate`) |
/// | `failure_rate` | breaker | percent 1..=100 of recorded failures in the window that opens it | none |
/// | `slow` | breaker | duration: a call slower than this is slow (with `slow_rate`) | none |
/// | `slow_rate` | breaker | percent 1..=100 of slow calls in the window that opens it (with `slow`) | none |
/// | `window` | breaker | for a rate: integer (the last N outcomes, up to 2^20) or duration (the outcomes of the last T, at least `"20ms"`) | 100 |
/// | `min_calls` | breaker | outcomes needed in the window before a rate is judged | 10 |
/// | `reset` | breaker | how long it stays open; a range backs off after each failed probe round | `"30s"` |
/// | `probes` | breaker | trial calls admitted per half-open round, 1..=1023; that many successes close it | 1 |
/// | `budget` | breaker | retries allowed on top of first attempts: `"20%"` (1..=100), or `"off"` | `"20%"`, at least 10 retries/s |
/// | `shared` | breaker | path to a [`#[shared_breaker]`](macro@shared_breaker) static; excludes every other breaker key | none |
/// | `attempts` | call | total attempts per call, 1..=100 | 1 |
/// | `retry` | call | `"per_attempt"` or `"per_call"`: what the breaker counts | required when `attempts > 1` |
/// | `backoff` | call | wait before a retry: fixed `"200ms"` or range `"100ms..2s"` | `"100ms..10s"` |
/// | `jitter` | call | `true` / `false`: each wait drawn from `[0, backoff]` | `true` |
/// | `timeout` | call | deadline of each attempt (`async fn` only); a miss is a transient failure | none |
/// | `classify` | call | path to `fn(&E) -> Verdict`: `Transient`, `Permanent` or `Ignore` | every `Err` is `Transient` |
/// | `nested` | call | `"retry"`: keep retrying when called inside another retrying call | a single attempt there |
/// | `crate` | - | path of the `breakerbox` crate, as a string | `"::breakerbox"` |
///
/// *Breaker* keys describe the service and live with the breaker; *call* keys describe this fn's
/// calls.
///
/// # What the breaker counts when a call retries
///
/// With `attempts > 1`, `retry` is required:
///
/// - `retry = "per_attempt"` (retry wraps the breaker): every attempt asks for admission and
///   records its outcome; a refused attempt ends the call at once, without sleeping.
/// - `retry = "per_call"` (the breaker wraps retry): each call asks once and records one outcome,
///   after its retries; a call admitted as a half-open probe makes a single attempt.
///
/// Against a service that is down, with `threshold = 5` and `attempts = 3`:
///
/// | `retry` | the breaker sees | opens after | a half-open probe sends |
/// |---|---|---|---|
/// | `"per_attempt"` | every attempt | 5 failed requests | 1 request |
/// | `"per_call"` | each call | 15 failed requests (5 calls x 3 attempts) | 1 request |
///
/// # Rejected at compile time
///
/// Each with an error on the offending token that says what to write instead:
///
/// 1. `attempts > 1` without `retry` (the message does the arithmetic above with your numbers).
/// 2. `retry`, `backoff`, `jitter`, `nested` or `budget` without `attempts > 1`: no effect.
/// 3. `threshold` with `failure_rate`; `window` or `min_calls` without a rate; `min_calls` above a
///    count `window`; `slow` without `slow_rate`, or the reverse.
/// 4. `shared` with any other breaker key.
/// 5. `timeout` on a fn that is not `async`.
/// 6. A return type that is not a `Result`, a `const fn`, an item that is not a fn with a body,
///    `#[track_caller]`.
/// 7. A second `#[circuit_breaker]`, or another crate's retry attribute, on the same fn.
/// 8. An unknown key (the nearest is suggested, and the names other libraries use, such as
///    `retries` or `timeout_ms`, are rewritten in these terms), a duplicate key, a value of the
///    wrong kind, zero where a positive value is needed, a percent out of range, a bad or
///    overflowing duration, a range whose end is below its start, a time window under 20ms.
/// 9. With `attempts > 1`, a by-value argument that is not `Clone`.
/// 10. An error type without `From<breakerbox::Rejected>` (or `From<breakerbox::TimedOut>` with
///     `timeout`), or a `classify` fn of another signature.
///
/// See the [`breakerbox` documentation](https://docs.rs/breakerbox) for an example of every key,
/// the registry and the events.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    match validate::circuit_breaker(args.into(), item.into()) {
        Ok(valid) => expand::circuit_breaker(valid),
        Err(invalid) => expand::invalid(invalid),
    }
    .into()
}

/// Declares a breaker that several `#[circuit_breaker(shared = NAME)]` fns share: one service,
/// many endpoints.
///
/// ```ignore
/// # use breakerbox::{Rejected, circuit_breaker, shared_breaker};
/// # #[derive(Debug)] pub struct PayError;
/// # impl From<Rejected> for PayError { fn from(_: Rejected) -> Self { PayError } }
/// /// The payments service.
/// #[shared_breaker(failure_rate = 50, window = "60s", reset = "1s..60s", budget = "10%")]
/// pub static PAYMENTS: breakerbox::Breaker;
///
/// #[circuit_breaker(shared = PAYMENTS, attempts = 3, retry = "per_call")]
/// async fn charge(cents: u64) -> Result<u64, PayError> {
///     Ok(cents)
/// }
///
/// #[circuit_breaker(shared = PAYMENTS)]
/// async fn refund(cents: u64) -> Result<u64, PayError> {
///     Ok(cents)
/// }
/// ```
///
/// (Marked `ignore`: the examples of a proc-macro crate cannot use the `breakerbox` crate, whose
/// [documentation](https://docs.rs/breakerbox) runs one like it.)
///
/// It goes on `static NAME: breakerbox::Breaker;`, without a value, and takes the *breaker* keys of
/// [`#[circuit_breaker]`](macro@circuit_breaker); the *call* keys (`attempts`, `retry`, `backoff`,
/// `jitter`, `timeout`, `classify`, `nested`) stay on each fn. The retry budget belongs to the
/// breaker: every fn sharing it shares it. The breaker is in the registry from process start.
///
/// | key | value | default |
/// |---|---|---|
/// | `name` | string: the breaker's key in the registry | `module_path::NAME` |
/// | `threshold` | recorded failures in a row that open it, >= 1 | 5 (when no `failure_rate`) |
/// | `failure_rate` | percent 1..=100 of recorded failures in the window that opens it | none |
/// | `slow` | duration: a call slower than this is slow (with `slow_rate`) | none |
/// | `slow_rate` | percent 1..=100 of slow calls in the window that opens it (with `slow`) | none |
/// | `window` | for a rate: integer (the last N outcomes, up to 2^20) or duration (the outcomes of the last T, at least `"20ms"`) | 100 |
/// | `min_calls` | outcomes needed in the window before a rate is judged | 10 |
/// | `reset` | how long it stays open; a range backs off after each failed probe round | `"30s"` |
/// | `probes` | trial calls admitted per half-open round, 1..=1023; that many successes close it | 1 |
/// | `budget` | retries allowed on top of first attempts: `"20%"` (1..=100), or `"off"` | `"20%"`, at least 10 retries/s |
/// | `crate` | path of the `breakerbox` crate, as a string | `"::breakerbox"` |
///
/// Rejected at compile time, each on its token: `shared` or a call key here; `threshold` with
/// `failure_rate`; `window` or `min_calls` without a rate; `min_calls` above a count `window`;
/// `slow` without `slow_rate`, or the reverse; `static mut`, a value, or a type other than
/// `breakerbox::Breaker`; and every mistake in a single value, as on `#[circuit_breaker]`.
#[proc_macro_attribute]
pub fn shared_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    match validate::shared_breaker(args.into(), item.into()) {
        Ok(valid) => expand::shared_breaker(valid),
        Err(invalid) => expand::invalid(invalid),
    }
    .into()
}

#[cfg(test)]
mod tests {
    /// The key tables of the attributes' docs (what an IDE shows on hover) list every key of the
    /// grammar that the attribute takes, and no other.
    #[test]
    fn the_docs_list_every_key() {
        let source = include_str!("lib.rs");
        let (circuit, shared) = source
            .split_once("pub fn circuit_breaker(")
            .expect("the attribute fns");
        let (shared, _) = shared
            .split_once("pub fn shared_breaker(")
            .expect("the attribute fns");
        let documented = |docs: &str| -> Vec<String> {
            docs.lines()
                .filter_map(|line| line.trim().strip_prefix("/// | `"))
                .filter_map(|row| row.split_once('`').map(|(key, _)| key.to_owned()))
                .filter(|key| !key.starts_with('"'))
                .collect()
        };
        let circuit = documented(circuit);
        let shared = documented(shared);
        for (key, scope, _) in crate::args::KEYS {
            assert!(
                circuit.contains(&(*key).to_owned()),
                "`{key}` on circuit_breaker"
            );
            let on_shared = *scope != crate::args::Scope::Call && *key != "shared";
            assert_eq!(
                shared.contains(&(*key).to_owned()),
                on_shared,
                "`{key}` on shared_breaker"
            );
        }
        for key in circuit.iter().chain(&shared) {
            assert!(
                crate::args::KEYS.iter().any(|(k, ..)| k == key),
                "`{key}` is documented but is no key"
            );
        }
    }
}
