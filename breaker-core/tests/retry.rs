//! The retry driver's two compositions (R1, R2), verdicts (R3), rejections (R4) and backoff (R8),
//! with paused time.

mod common;

use std::cell::Cell;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use breaker_core::{
    Backoff, Breaker, CallPolicy, Granularity, Rejected, Reset, State, TimedOut, Verdict,
};
use common::*;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Down(u32),
    BadRequest,
    NotFound,
    Rejected,
    TimedOut(Duration),
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

impl From<TimedOut> for Error {
    fn from(t: TimedOut) -> Self {
        Error::TimedOut(t.after())
    }
}

fn classify(e: &Error) -> Verdict {
    match e {
        Error::BadRequest => Verdict::Permanent,
        Error::NotFound => Verdict::Ignore,
        _ => Verdict::Transient,
    }
}

fn policy(attempts: u32, granularity: Granularity) -> CallPolicy {
    CallPolicy::builder()
        .attempts(attempts)
        .retry(granularity)
        .backoff(Backoff::Fixed(ms(100)))
        .jitter(false)
        .build()
        .unwrap()
}

/// Runs one call whose attempts return `script[n]` (the last entry repeats); returns the result and
/// how many attempts ran.
async fn call(
    b: &Breaker,
    p: &CallPolicy,
    script: &[Result<u32, Error>],
) -> (Result<u32, Error>, u32) {
    let runs = Cell::new(0u32);
    let result = p
        .run(b, classify, || {
            let n = runs.get() as usize;
            runs.set(runs.get() + 1);
            let outcome = script[n.min(script.len() - 1)].clone();
            async move { outcome }
        })
        .await;
    (result, runs.get())
}

/// Polls `f` inside `catch_unwind`: the panic surfaces as `Err`, after the future's locals (and the
/// permit among them) were dropped during unwinding.
async fn catch_unwind<F: Future>(f: F) -> std::thread::Result<F::Output> {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    })
    .await
}

const FAIL: Result<u32, Error> = Err(Error::Down(503));

#[tokio::test(start_paused = true)]
async fn per_attempt_counts_every_attempt() {
    let b = consecutive("rt.per_attempt", 3, Reset::Fixed(secs(30)), 1);
    let (result, runs) = call(b, &policy(3, Granularity::PerAttempt), &[FAIL, FAIL, Ok(7)]).await;
    assert_eq!(result, Ok(7));
    assert_eq!(runs, 3);
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.failures, m.successes, m.retries),
        (3, 2, 1, 2)
    );
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn per_call_counts_each_call_once() {
    let b = consecutive("rt.per_call", 5, Reset::Fixed(secs(30)), 1);
    let (result, runs) = call(b, &policy(3, Granularity::PerCall), &[FAIL]).await;
    assert_eq!(result, FAIL);
    assert_eq!(runs, 3);
    let m = b.metrics();
    assert_eq!((m.admitted, m.failures, m.retries), (1, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn per_attempt_stops_at_once_when_the_breaker_opens() {
    let b = consecutive("rt.stop", 1, Reset::Fixed(secs(30)), 1);
    let p = CallPolicy::builder()
        .attempts(3)
        .retry(Granularity::PerAttempt)
        .build()
        .unwrap();
    let start = Instant::now();
    let (result, runs) = call(b, &p, &[FAIL]).await;
    assert_eq!(result, FAIL, "the real error, not the rejection");
    assert_eq!(runs, 1);
    assert_eq!(start.elapsed(), Duration::ZERO, "no backoff was slept");
    assert_eq!(b.state(), State::Open);

    let (result, runs) = call(b, &p, &[Ok(1)]).await;
    assert_eq!(result, Err(Error::Rejected));
    assert_eq!(runs, 0, "a rejected call never runs");
    assert_eq!(start.elapsed(), Duration::ZERO);
    let m = b.metrics();
    // Two refusals: the first call's second attempt (asked for before any wait) and the second
    // call. Neither is a failure (R4).
    assert_eq!(
        (m.failures, m.rejected, m.retries),
        (1, 2, 0),
        "a rejection is not a failure (R4)"
    );
}

#[tokio::test(start_paused = true)]
async fn five_failed_requests_or_fifteen() {
    for (granularity, expected_runs) in [(Granularity::PerAttempt, 5), (Granularity::PerCall, 15)] {
        let name = if granularity == Granularity::PerAttempt {
            "rt.5"
        } else {
            "rt.15"
        };
        let b = consecutive(name, 5, Reset::Fixed(secs(30)), 1);
        let mut runs = 0;
        let mut calls = 0;
        while b.state() == State::Closed {
            runs += call(b, &policy(3, granularity), &[FAIL]).await.1;
            calls += 1;
        }
        assert_eq!(runs, expected_runs, "{granularity}");
        assert_eq!(
            b.metrics().failures,
            5,
            "{granularity}: the breaker saw 5 failures"
        );
        let expected_calls = if granularity == Granularity::PerAttempt {
            2
        } else {
            5
        };
        assert_eq!(calls, expected_calls, "{granularity}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_per_call_probe_makes_one_attempt() {
    let b = consecutive("rt.probe", 1, Reset::Fixed(secs(10)), 1);
    let p = policy(3, Granularity::PerCall);
    assert_eq!(call(b, &p, &[FAIL]).await.1, 3);
    assert_eq!(b.state(), State::Open);
    tokio::time::advance(secs(10)).await;
    let (result, runs) = call(b, &p, &[FAIL]).await;
    assert_eq!((result, runs), (FAIL, 1), "the probe was not amplified");
    assert_eq!(b.state(), State::Open);
    tokio::time::advance(secs(10)).await;
    assert_eq!(call(b, &p, &[Ok(5)]).await, (Ok(5), 1));
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn verdicts() {
    for granularity in [Granularity::PerAttempt, Granularity::PerCall] {
        let b = consecutive(
            if granularity == Granularity::PerAttempt {
                "rt.v.attempt"
            } else {
                "rt.v.call"
            },
            5,
            Reset::Fixed(secs(30)),
            1,
        );
        let p = policy(3, granularity);
        // Ignore: neither recorded nor retried.
        assert_eq!(
            call(b, &p, &[Err(Error::NotFound)]).await,
            (Err(Error::NotFound), 1)
        );
        let m = b.metrics();
        assert_eq!(
            (m.ignored, m.failures, m.retries),
            (1, 0, 0),
            "{granularity}"
        );
        // Permanent: recorded, not retried.
        assert_eq!(
            call(b, &p, &[Err(Error::BadRequest)]).await,
            (Err(Error::BadRequest), 1)
        );
        let m = b.metrics();
        assert_eq!(
            (m.failures, m.retries, m.consecutive_failures),
            (1, 0, 1),
            "{granularity}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_recorded_and_retried() {
    let b = consecutive("rt.timeout", 5, Reset::Fixed(secs(30)), 1);
    let p = CallPolicy::builder()
        .attempts(2)
        .retry(Granularity::PerAttempt)
        .backoff(Backoff::Fixed(ms(100)))
        .jitter(false)
        .timeout(secs(1))
        .build()
        .unwrap();
    let runs = Cell::new(0);
    let start = Instant::now();
    let result: Result<u32, Error> = p
        .run(b, classify, || {
            runs.set(runs.get() + 1);
            let slow = runs.get() == 1;
            async move {
                if slow {
                    tokio::time::sleep(secs(60)).await;
                }
                Ok(9)
            }
        })
        .await;
    assert_eq!(result, Ok(9));
    assert_eq!(runs.get(), 2);
    assert_eq!(
        start.elapsed(),
        secs(1) + ms(100),
        "timeout, then one backoff"
    );
    let m = b.metrics();
    assert_eq!(
        (m.failures, m.timeouts, m.successes, m.retries),
        (1, 1, 1, 1)
    );

    // Out of attempts, the timeout is the error returned.
    let p1 = CallPolicy::builder().timeout(ms(50)).build().unwrap();
    let r: Result<u32, Error> = p1
        .run(b, classify, || async {
            tokio::time::sleep(secs(1)).await;
            Ok(1)
        })
        .await;
    assert_eq!(r, Err(Error::TimedOut(ms(50))));
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_recorded_releases_its_permit_and_propagates() {
    let b = consecutive("rt.panic", 5, Reset::Fixed(secs(1)), 1);
    let p = policy(3, Granularity::PerCall);
    let unwound = catch_unwind(p.run(b, classify, || async {
        if true {
            panic!("attempt panicked");
        }
        Ok::<u32, Error>(0)
    }))
    .await;
    assert!(unwound.is_err(), "the panic propagates");
    assert_eq!(b.metrics().failures, 1);
    assert_eq!(
        call(b, &p, &[Ok(3)]).await,
        (Ok(3), 1),
        "the breaker still works"
    );

    // A half-open probe that panics does not keep its slot: the breaker reopens.
    let h = consecutive("rt.panic_probe", 1, Reset::Fixed(secs(1)), 1);
    assert_eq!(call(h, &p, &[FAIL]).await.1, 3);
    tokio::time::advance(secs(1)).await;
    let _ = catch_unwind(p.run(h, classify, || async {
        if true {
            panic!("probe panicked");
        }
        Ok::<u32, Error>(0)
    }))
    .await;
    assert_eq!(h.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_call_gives_its_probe_back() {
    let b = consecutive("rt.cancel", 1, Reset::Fixed(secs(1)), 1);
    let p = policy(3, Granularity::PerCall);
    assert_eq!(call(b, &p, &[FAIL]).await, (FAIL, 3));
    tokio::time::advance(secs(1)).await;
    let hanging = p.run(b, classify, || async {
        std::future::pending::<()>().await;
        Ok::<u32, Error>(0)
    });
    // Poll the probe once, then drop it: a cancelled call.
    assert!(tokio::time::timeout(ms(10), hanging).await.is_err());
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(
        call(b, &p, &[Ok(1)]).await,
        (Ok(1), 1),
        "the slot came back at once"
    );
    assert_eq!(b.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_and_caps_exactly_without_jitter() {
    let b = consecutive("rt.backoff", 100, Reset::Fixed(secs(30)), 1);
    let p = CallPolicy::builder()
        .attempts(6)
        .retry(Granularity::PerCall)
        .backoff(Backoff::Exponential {
            start: ms(100),
            cap: ms(1000),
        })
        .jitter(false)
        .build()
        .unwrap();
    let mut starts = Vec::new();
    let _: Result<u32, Error> = p
        .run(b, classify, || {
            starts.push(Instant::now());
            async { FAIL }
        })
        .await;
    let gaps: Vec<u128> = starts
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    assert_eq!(gaps, [100, 200, 400, 800, 1000]);
}

#[tokio::test(start_paused = true)]
async fn full_jitter_waits_lie_within_the_backoff() {
    let b = consecutive("rt.jitter", 100, Reset::Fixed(secs(30)), 1);
    let p = CallPolicy::builder()
        .attempts(100)
        .retry(Granularity::PerCall)
        .backoff(Backoff::Fixed(ms(200)))
        .build()
        .unwrap();
    let mut starts = Vec::new();
    let _: Result<u32, Error> = p
        .run(b, classify, || {
            starts.push(Instant::now());
            async { FAIL }
        })
        .await;
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 99);
    assert!(gaps.iter().all(|g| *g <= ms(200)), "{gaps:?}");
    assert!(
        gaps.iter().any(|g| *g < ms(100)) && gaps.iter().any(|g| *g > ms(100)),
        "spread: {gaps:?}"
    );
}

#[test]
fn backoff_saturates_for_any_attempt_number() {
    let b = Backoff::Exponential {
        start: ms(100),
        cap: secs(10),
    };
    assert_eq!(b.delay(10_000), secs(10));
    assert_eq!(b.delay(u32::MAX), secs(10));
    let huge = Backoff::Exponential {
        start: Duration::MAX / 2,
        cap: Duration::MAX,
    };
    assert_eq!(huge.delay(10_000), Duration::MAX);
    let p = CallPolicy::builder()
        .attempts(2)
        .retry(Granularity::PerCall)
        .build()
        .unwrap();
    assert!(p.wait(10_000) <= secs(10));
}

/// R2: a `per_call` call whose admission goes stale (the breaker left the state it was admitted
/// in) makes no further attempt. Before, it kept retrying under a breaker that had opened.
#[tokio::test(start_paused = true)]
async fn a_stale_per_call_admission_makes_no_further_attempt() {
    // Stale while the attempt runs: the call ends with the attempt's own error, counted late.
    let b = consecutive("rt.stale_during", 5, Reset::Fixed(secs(30)), 1);
    let runs = Cell::new(0u32);
    let result: Result<u32, Error> = policy(3, Granularity::PerCall)
        .run(b, classify, || {
            runs.set(runs.get() + 1);
            b.force_open();
            async { FAIL }
        })
        .await;
    assert_eq!(result, FAIL);
    assert_eq!(runs.get(), 1);
    let m = b.metrics();
    assert_eq!((m.admitted, m.failures, m.late, m.retries), (1, 0, 1, 0));

    // Stale while it waits to retry: it wakes, makes no attempt, and says the breaker stopped it.
    let b = consecutive("rt.stale_waiting", 5, Reset::Fixed(secs(30)), 1);
    let p = policy(3, Granularity::PerCall);
    let open_meanwhile = async {
        tokio::time::sleep(ms(50)).await;
        b.force_open();
    };
    let ((result, runs), ()) = tokio::join!(call(b, &p, &[FAIL]), open_meanwhile);
    assert_eq!(result, Err(Error::Rejected));
    assert_eq!(runs, 1);
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.failures, m.late, m.retries, m.rejected),
        (1, 0, 1, 0, 0)
    );
}

/// R1 with the admission asked before the wait: when another caller opens the breaker while a
/// `per_attempt` call waits, the attempt it was admitted for still runs and its outcome is late;
/// when the breaker is already open as the call fails, it ends at once with its own error.
#[tokio::test(start_paused = true)]
async fn per_attempt_asks_for_the_next_attempt_before_waiting() {
    let b = consecutive("rt.ask_first", 5, Reset::Fixed(secs(30)), 1);
    let p = policy(2, Granularity::PerAttempt);
    let open_meanwhile = async {
        tokio::time::sleep(ms(50)).await;
        b.force_open();
    };
    let start = Instant::now();
    let ((result, runs), ()) = tokio::join!(call(b, &p, &[FAIL]), open_meanwhile);
    assert_eq!(result, FAIL);
    assert_eq!(runs, 2);
    assert_eq!(start.elapsed(), ms(100));
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.failures, m.late, m.retries, m.rejected),
        (2, 1, 1, 1, 0)
    );
}
