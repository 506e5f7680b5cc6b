//! What the load bound (the retry budget, R11, and one retrying layer across nested calls, R12)
//! costs a call that does not need it: the closed success path of a fn that makes one attempt, and
//! of a fn that may retry and succeeds at once.
//!
//! The file uses only what the attribute offered before the load bound, so the same benchmark runs
//! on the commit before it and on main, and criterion compares the two:
//!
//! ```sh
//! git worktree add ../before 66b86ed^1 && cp benches/load_bound.rs ../before/benches/
//! # then copy this file's `[[bench]]` entry from Cargo.toml into ../before/Cargo.toml
//! (cd ../before && cargo bench --bench load_bound --target-dir "$PWD/target/bench-ab" -- --save-baseline before)
//! cargo bench --bench load_bound --target-dir ../before/target/bench-ab -- --baseline before
//! ```
//!
//! `bare` is the guarded operation alone, the anchor for the noise of the run.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use breakerbox::Rejected;
use criterion::{Criterion, criterion_group, criterion_main};

#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
enum Error {
    Down,
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(rejected: Rejected) -> Self {
        Error::Rejected(rejected)
    }
}

#[inline(never)]
fn op() -> Result<u64, Error> {
    Ok(black_box(7))
}

#[breakerbox::circuit_breaker(name = "load_bound.single")]
fn single() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(name = "load_bound.single_async")]
async fn single_async() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(name = "load_bound.retrying", attempts = 3, retry = "per_call")]
fn retrying() -> Result<u64, Error> {
    op()
}

#[breakerbox::circuit_breaker(name = "load_bound.retrying_async", attempts = 3, retry = "per_call")]
async fn retrying_async() -> Result<u64, Error> {
    op()
}

/// Polls a future that is ready on its first poll, without a runtime.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn sink(result: Result<u64, Error>) {
    black_box(result.ok());
}

fn closed_success(c: &mut Criterion) {
    let mut g = c.benchmark_group("load_bound");
    g.bench_function("bare", |b| b.iter(|| sink(op())));
    g.bench_function("single/sync", |b| b.iter(|| sink(single())));
    g.bench_function("single/async", |b| b.iter(|| sink(ready(single_async()))));
    g.bench_function("retrying/sync", |b| b.iter(|| sink(retrying())));
    g.bench_function("retrying/async", |b| {
        b.iter(|| sink(ready(retrying_async())))
    });
    g.finish();
}

criterion_group!(benches, closed_success);
criterion_main!(benches);
