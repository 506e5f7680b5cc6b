//! The slow-call policy, with time driven by `tokio::time::pause()`: a call slower than `slow` is
//! slow, whether it succeeded or not; the breaker opens when `slow_rate` percent of the window's
//! calls were slow, once `min_calls` are in, alone or beside a failure policy.

mod common;

use std::time::Duration;

use breaker_core::{Breaker, Config, Reason, Reset, State, Window, registry};
use common::*;
use tokio::time::advance;

fn slow_breaker(name: &'static str, window: Window, min_calls: u32) -> &'static Breaker {
    let config = Config::builder(name)
        .slow(secs(2))
        .slow_rate(50)
        .window(window)
        .min_calls(min_calls)
        .reset(Reset::Fixed(secs(30)))
        .build()
        .expect("valid config");
    Box::leak(Box::new(Breaker::new(config)))
}

/// One call that takes `took`, then records `failure` or a success.
async fn call(b: &Breaker, took: Duration, failure: bool) {
    let permit = b.try_acquire().expect("admitted");
    advance(took).await;
    if failure {
        permit.failure();
    } else {
        permit.success();
    }
}

#[tokio::test(start_paused = true)]
async fn five_slow_calls_of_ten_open_it_at_fifty_percent() {
    let mut events = registry().subscribe();
    let b = slow_breaker("slow.half", Window::Count(10), 10);
    for _ in 0..5 {
        call(b, ms(100), false).await;
    }
    for i in 0..4 {
        call(b, secs(3), false).await;
        assert_eq!(
            b.state(),
            State::Closed,
            "slow call {i}: fewer than min_calls"
        );
    }
    let m = b.metrics();
    assert_eq!(
        (m.window_calls, m.window_slow, m.window_failures),
        (9, 4, 0)
    );
    // The fifth slow call completes the window: 5 of 10 slow.
    call(b, secs(3), false).await;
    assert_eq!(b.state(), State::Open);
    let opened: Vec<_> = std::iter::from_fn(|| events.try_recv().unwrap())
        .filter(|t| t.breaker == "slow.half")
        .map(|t| t.reason)
        .collect();
    assert_eq!(opened, [Reason::SlowCallRate { slow: 5, calls: 10 }]);
    let m = b.metrics();
    assert_eq!(
        (m.successes, m.failures),
        (10, 0),
        "slow successes are successes"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_exactly_at_the_threshold_is_not_slow() {
    let b = slow_breaker("slow.edge", Window::Count(4), 4);
    for _ in 0..4 {
        call(b, secs(2), false).await;
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().window_slow, 0);
    call(b, Duration::from_millis(2_001), false).await;
    assert_eq!(b.metrics().window_slow, 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_failure_counts_once_in_each_rate() {
    let config = Config::builder("slow.both")
        .failure_rate(50)
        .slow(secs(1))
        .slow_rate(50)
        .window(Window::Count(4))
        .min_calls(4)
        .build()
        .unwrap();
    let b: &'static Breaker = Box::leak(Box::new(Breaker::new(config)));
    call(b, secs(2), true).await;
    let m = b.metrics();
    assert_eq!(
        (m.window_calls, m.window_failures, m.window_slow, m.failures),
        (1, 1, 1, 1)
    );
    call(b, ms(10), false).await;
    call(b, ms(10), false).await;
    assert_eq!(b.state(), State::Closed);
    // 2 of 4 failed: the failure rate decides first.
    call(b, ms(10), true).await;
    assert_eq!(b.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn the_slow_rate_sits_beside_the_consecutive_policy() {
    let config = Config::builder("slow.consecutive")
        .threshold(3)
        .slow(secs(1))
        .slow_rate(100)
        .window(Window::Time(secs(60)))
        .min_calls(2)
        .build()
        .unwrap();
    let b: &'static Breaker = Box::leak(Box::new(Breaker::new(config)));
    call(b, secs(5), false).await;
    assert_eq!(b.metrics().consecutive_failures, 0);
    call(b, secs(5), true).await;
    // Both slow, 100 %: the slow-call rate opens it before three failures in a row.
    assert_eq!(b.state(), State::Open);
}

#[test]
fn slow_needs_slow_rate_and_the_reverse() {
    use breaker_core::ConfigError;
    let err = Config::builder("x").slow(secs(1)).build().unwrap_err();
    assert_eq!(err, ConfigError::SlowWithoutSlowRate);
    let err = Config::builder("x").slow_rate(50).build().unwrap_err();
    assert_eq!(err, ConfigError::SlowRateWithoutSlow);
    let err = Config::builder("x")
        .slow(secs(1))
        .slow_rate(0)
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::SlowRateOutOfRange(0));
    // A window with only a slow-call rate is a rate's window.
    assert!(
        Config::builder("x")
            .slow(secs(1))
            .slow_rate(50)
            .window(Window::Count(20))
            .build()
            .is_ok()
    );
}
