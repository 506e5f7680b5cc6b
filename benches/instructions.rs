//! Instruction counts of the hot paths, for a performance check that a shared, noisy machine cannot
//! blur: run under `valgrind --tool=callgrind`, which counts instructions, not seconds. The same
//! binary, inputs and environment give the same count, whatever else the machine is doing.
//!
//! `instructions <path> <calls>` makes `calls` calls through one path and exits;
//! `.ci/instructions.sh` runs each path twice (N and 2N calls) and divides the difference by N, so
//! what the program does once (start-up, the first allocation of a window) cancels out. The
//! per-call counts are compared with `benches/instructions.txt`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breakerbox::{Breaker, Config, ConfigBuilder, Rejected, TimedOut, Window, circuit_breaker};

#[derive(Debug)]
#[allow(dead_code)] // read only through `Debug`
enum Error {
    Down,
    Rejected(Rejected),
    TimedOut(TimedOut),
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

impl From<TimedOut> for Error {
    fn from(t: TimedOut) -> Self {
        Error::TimedOut(t)
    }
}

const fn config(builder: ConfigBuilder) -> Config {
    match builder.build() {
        Ok(config) => config,
        Err(_) => panic!("invalid configuration"),
    }
}

static CONSECUTIVE: Breaker = Breaker::new(Config::new("instructions.consecutive"));
static COUNT: Breaker = Breaker::new(config(
    Config::builder("instructions.count")
        .failure_rate(50)
        .window(Window::Count(100)),
));
static TIME: Breaker = Breaker::new(config(
    Config::builder("instructions.time")
        .failure_rate(50)
        .window(Window::Time(Duration::from_secs(60))),
));
static SLOW: Breaker = Breaker::new(config(
    Config::builder("instructions.slow")
        .slow(Duration::from_secs(2))
        .slow_rate(50)
        .window(Window::Count(100)),
));
static FORCED: Breaker = Breaker::new(Config::new("instructions.forced"));

#[inline(never)]
fn operation() -> Result<u32, Error> {
    Ok(black_box(7))
}

fn programmatic(breaker: &Breaker) -> Result<u32, Error> {
    let permit = breaker.try_acquire()?;
    let result = operation();
    match &result {
        Ok(_) => permit.success(),
        Err(_) => permit.failure(),
    }
    result
}

#[circuit_breaker(name = "instructions.sync")]
fn annotated_sync() -> Result<u32, Error> {
    operation()
}

#[circuit_breaker(name = "instructions.async")]
async fn annotated_async() -> Result<u32, Error> {
    operation()
}

/// A fn that may retry, on its success path: its first attempt succeeds (its `Call`, the nesting
/// check and the scope its attempt runs in).
#[circuit_breaker(name = "instructions.retrying", attempts = 3, retry = "per_call")]
fn annotated_retrying() -> Result<u32, Error> {
    operation()
}

#[circuit_breaker(name = "instructions.retrying_async", attempts = 3, retry = "per_call")]
async fn annotated_retrying_async() -> Result<u32, Error> {
    operation()
}

/// The same with a `timeout`: an attempt ready on its first poll reads the clock for its deadline
/// and makes no timer.
#[circuit_breaker(
    name = "instructions.retrying_async_timeout",
    attempts = 3,
    retry = "per_call",
    timeout = "1s"
)]
async fn annotated_retrying_async_timeout() -> Result<u32, Error> {
    operation()
}

/// Polls a future that is ready at once, without a runtime.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => unreachable!("the operation never waits"),
    }
}

/// Every measured path, by the name `.ci/instructions.sh` passes.
const PATHS: &[(&str, fn())] = &[
    ("closed_success_consecutive", || {
        let _ = black_box(programmatic(&CONSECUTIVE));
    }),
    ("closed_success_count_window", || {
        let _ = black_box(programmatic(&COUNT));
    }),
    ("closed_success_time_window", || {
        let _ = black_box(programmatic(&TIME));
    }),
    ("closed_success_slow_calls", || {
        let _ = black_box(programmatic(&SLOW));
    }),
    ("rejection_forced_open", || {
        let _ = black_box(programmatic(&FORCED));
    }),
    ("annotated_sync_success", || {
        let _ = black_box(annotated_sync());
    }),
    ("annotated_async_success", || {
        let _ = black_box(ready(annotated_async()));
    }),
    ("annotated_retrying_success", || {
        let _ = black_box(annotated_retrying());
    }),
    ("annotated_retrying_async_success", || {
        let _ = black_box(ready(annotated_retrying_async()));
    }),
    ("annotated_retrying_async_timeout_success", || {
        let _ = black_box(ready(annotated_retrying_async_timeout()));
    }),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(calls)) = (args.next(), args.next()) else {
        let names: Vec<&str> = PATHS.iter().map(|(name, _)| *name).collect();
        eprintln!(
            "usage: instructions <path> <calls>; paths: {}",
            names.join(" ")
        );
        std::process::exit(2);
    };
    let calls: u64 = calls.parse().expect("a number of calls");
    let Some((_, run)) = PATHS.iter().find(|(name, _)| *name == path) else {
        eprintln!("no path named `{path}`");
        std::process::exit(2);
    };
    FORCED.force_open();
    for _ in 0..calls {
        run();
    }
}
