//! The state machine, policy by policy, with time driven by `tokio::time::pause()`.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use std::time::Duration;

use breaker_core::{Metrics, Reset, State, Window, registry};
use common::*;
use tokio::time::advance;

use State::{Closed, Disabled, ForcedOpen, HalfOpen, Open};

#[tokio::test(start_paused = true)]
async fn count_window_opens_at_the_rate_once_min_calls_are_in() {
    let b = rate("sm.count_window", 50, Window::Count(5), 5);
    run(b, "FFFS");
    assert_eq!(b.state(), Closed, "4 outcomes are below min_calls");
    run(b, "S"); // 3 failures of 5: 60 %
    assert_eq!(b.state(), Open);
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!(rejected.breaker(), "sm.count_window");
    assert_eq!(rejected.retry_after(), Some(secs(30)));
    let m = b.metrics();
    assert_eq!(
        (m.admitted, m.successes, m.failures, m.rejected),
        (5, 2, 3, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn below_min_calls_never_trips() {
    let b = rate("sm.min_calls", 50, Window::Count(10), 5);
    run(b, "FFFF");
    assert_eq!(b.state(), Closed);
    assert_eq!(
        (b.metrics().window_calls, b.metrics().window_failures),
        (4, 4)
    );
}

#[tokio::test(start_paused = true)]
async fn count_window_slides() {
    // Window 4: after S,S,S,S the failures push the successes out one by one. A cumulative count
    // would read 2/6 (33 %) after two failures and stay closed.
    let b = rate("sm.sliding_50", 50, Window::Count(4), 4);
    run(b, "SSSSF");
    assert_eq!(b.state(), Closed, "1 of 4 failed");
    run(b, "F");
    assert_eq!(b.state(), Open, "2 of the last 4 failed: 50 %");

    // At 60 %, it takes the third failure: [S,F,F,F] is 75 %, where a cumulative count reads 3/7.
    let b = rate("sm.sliding_60", 60, Window::Count(4), 4);
    run(b, "SSSSFF");
    assert_eq!(b.state(), Closed, "2 of the last 4 failed: 50 %");
    run(b, "F");
    assert_eq!(b.state(), Open);
    assert_eq!(b.metrics().failures, 3);
}

#[tokio::test(start_paused = true)]
async fn time_window_evicts_old_outcomes() {
    let b = rate("sm.time_window", 50, Window::Time(secs(10)), 2);
    run(b, "F");
    advance(secs(10)).await;
    run(b, "F");
    assert_eq!(
        b.state(),
        Open,
        "10 s later, the first failure may stay up to one 500 ms bucket"
    );
    b.reset();
    run(b, "F");
    // One bucket (10 s / 20) past the span, it has left.
    advance(Duration::from_millis(10_499)).await;
    run(b, "F");
    assert_eq!(b.state(), Closed, "the first failure left the window");
    assert_eq!(
        (b.metrics().window_calls, b.metrics().window_failures),
        (1, 1)
    );
    advance(secs(1)).await;
    run(b, "F");
    assert_eq!(b.state(), Open, "two failures within 10 s");
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_probes_per_round() {
    let b = consecutive("sm.quota", 1, Reset::Fixed(secs(1)), 4);
    run(b, "F");
    advance(secs(1)).await;
    let probes: Vec<_> = (0..4)
        .map(|i| b.try_acquire().unwrap_or_else(|_| panic!("probe {i}")))
        .collect();
    assert!(probes.iter().all(|p| p.is_probe()));
    assert_eq!(b.state(), HalfOpen);
    assert!(b.try_acquire().is_err(), "5th admission");
    assert!(b.try_acquire().is_err(), "6th admission");
    assert_eq!(b.metrics().rejected, 2);

    // One probe fails: open again; the other three are now late.
    let mut probes = probes.into_iter();
    probes.next().unwrap().failure();
    assert_eq!(b.state(), Open);
    probes.for_each(|p| p.success());
    assert_eq!(b.metrics().late, 3);

    // The next round admits four again.
    advance(secs(2)).await;
    let round: Vec<_> = (0..4)
        .map(|_| b.try_acquire().expect("probe of the new round"))
        .collect();
    assert!(b.try_acquire().is_err());
    round.into_iter().for_each(|p| p.success());
    assert_eq!(b.state(), Closed);
}

#[tokio::test(start_paused = true)]
async fn half_open_failure_reopens_with_the_next_backoff_step() {
    let b = consecutive(
        "sm.reopen",
        1,
        Reset::Backoff {
            min: secs(1),
            max: secs(8),
        },
        1,
    );
    run(b, "F");
    advance(secs(1)).await;
    run(b, "F"); // the probe fails
    assert_eq!(b.state(), Open);
    assert_eq!(b.remaining_open(), Some(secs(2)));
}

#[tokio::test(start_paused = true)]
async fn probes_successes_close_with_empty_counts() {
    let b = consecutive("sm.close", 3, Reset::Fixed(secs(1)), 2);
    run(b, "FFF");
    assert_eq!(b.state(), Open);
    advance(secs(1)).await;
    run(b, "S");
    assert_eq!(b.state(), HalfOpen, "one of two probes succeeded");
    run(b, "S");
    assert_eq!(b.state(), Closed);
    assert_eq!(b.metrics().consecutive_failures, 0);
    // The count starts from zero: two failures do not reopen it.
    run(b, "FF");
    assert_eq!(b.state(), Closed);
    assert_eq!(b.metrics().consecutive_failures, 2);

    let r = rate("sm.close_rate", 50, Window::Count(4), 2);
    run(r, "FF");
    assert_eq!(r.state(), Open);
    advance(secs(30)).await;
    run(r, "S");
    assert_eq!(r.state(), Closed);
    assert_eq!(
        (r.metrics().window_calls, r.metrics().window_failures),
        (0, 0)
    );
    run(r, "F");
    assert_eq!(
        r.state(),
        Closed,
        "1 outcome is below min_calls: the window was emptied"
    );
}

#[tokio::test(start_paused = true)]
async fn ignored_probe_gives_its_permit_back_and_decides_nothing() {
    let b = consecutive("sm.ignore", 1, Reset::Fixed(secs(1)), 1);
    run(b, "F");
    advance(secs(1)).await;
    run(b, "I");
    assert_eq!(b.state(), HalfOpen);
    assert_eq!(b.metrics().ignored, 1);
    run(b, "S"); // the permit came back: a new probe is admitted at once
    assert_eq!(b.state(), Closed);
}

#[tokio::test(start_paused = true)]
async fn open_waits_its_period_then_one_probe() {
    let mut events = registry().subscribe();
    let b = consecutive("sm.wait", 1, Reset::Fixed(secs(5)), 1);
    run(b, "F");
    advance(secs(5) - ms(1)).await;
    let rejected = b.try_acquire().unwrap_err();
    assert_eq!(rejected.retry_after(), Some(ms(1)));
    assert_eq!(b.state(), Open);
    advance(ms(1)).await;
    let probe = b.try_acquire().expect("the period is over");
    assert!(probe.is_probe());
    assert_eq!(
        transitions(&mut events, "sm.wait"),
        [(Closed, Open), (Open, HalfOpen)]
    );
    drop(probe);
}

#[tokio::test(start_paused = true)]
async fn open_backoff_doubles_caps_and_restarts_after_a_close() {
    let b = consecutive(
        "sm.backoff",
        1,
        Reset::Backoff {
            min: secs(1),
            max: secs(8),
        },
        1,
    );
    run(b, "F");
    let mut periods = Vec::new();
    for _ in 0..5 {
        let period = b.remaining_open().unwrap();
        periods.push(period.as_secs());
        advance(period).await;
        run(b, "F"); // the probe fails
    }
    assert_eq!(periods, [1, 2, 4, 8, 8]);
    advance(secs(8)).await;
    run(b, "S");
    assert_eq!(b.state(), Closed);
    run(b, "F");
    assert_eq!(
        b.remaining_open(),
        Some(secs(1)),
        "a close restarts the backoff"
    );

    // Many failed rounds: the step saturates, the period stays at the cap.
    for _ in 0..200 {
        advance(b.remaining_open().unwrap()).await;
        run(b, "F");
    }
    assert_eq!(b.remaining_open(), Some(secs(8)));
    assert_eq!(
        Reset::Backoff {
            min: secs(1),
            max: secs(8)
        }
        .period(u32::MAX),
        secs(8)
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_frees_its_slot_at_once() {
    let b = consecutive("sm.cancel", 1, Reset::Fixed(secs(1)), 1);
    run(b, "F");
    advance(secs(1)).await;
    let probe = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err());
    drop(probe); // a cancelled call
    assert_eq!(b.state(), HalfOpen);
    let again = b.try_acquire().expect("the slot was given back");
    assert!(again.is_probe());
    again.success();
    assert_eq!(b.state(), Closed);
    let m = b.metrics();
    assert_eq!((m.failures, m.successes, m.late), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_hung_probe_does_not_wedge_the_breaker() {
    let mut events = registry().subscribe();
    let b = consecutive("sm.hung", 1, Reset::Fixed(secs(3)), 1);
    run(b, "F");
    advance(secs(3)).await;
    let hung = b.try_acquire().unwrap();
    advance(secs(3) - ms(1)).await;
    assert!(b.try_acquire().is_err(), "the round is still running");
    advance(ms(1)).await;
    let fresh = b
        .try_acquire()
        .expect("one reset period later a new round begins");
    assert!(fresh.is_probe());
    hung.failure(); // arrives at last: late, decides nothing
    assert_eq!(b.state(), HalfOpen);
    assert_eq!(b.metrics().late, 1);
    fresh.success();
    assert_eq!(b.state(), Closed);
    assert_eq!(
        transitions(&mut events, "sm.hung"),
        [
            (Closed, Open),
            (Open, HalfOpen),
            (HalfOpen, HalfOpen),
            (HalfOpen, Closed)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_late_outcome_changes_nothing_in_the_new_state() {
    let b = consecutive("sm.late", 2, Reset::Fixed(secs(1)), 1);
    let slow = b.try_acquire().unwrap();
    run(b, "FF");
    assert_eq!(b.state(), Open);
    b.reset();
    run(b, "F");
    let before = b.metrics();
    slow.failure();
    let after = b.metrics();
    assert_eq!(b.state(), Closed, "a second failure would have opened it");
    assert_eq!(after.consecutive_failures, 1);
    assert_eq!(after.failures, before.failures);
    assert_eq!(after.late, before.late + 1);
}

#[tokio::test(start_paused = true)]
async fn a_panic_records_a_failure_and_the_breaker_stays_usable() {
    let b = consecutive("sm.panic", 2, Reset::Fixed(secs(1)), 1);
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        let _permit = b.try_acquire().unwrap();
        panic!("the call panicked");
    }));
    assert!(unwound.is_err());
    assert_eq!(b.metrics().failures, 1);
    assert_eq!(b.metrics().consecutive_failures, 1);
    run(b, "S");
    assert_eq!(b.state(), Closed);

    // A panicking half-open probe reopens the breaker rather than holding its slot.
    run(b, "FF");
    advance(secs(1)).await;
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _probe = b.try_acquire().unwrap();
        panic!("the probe panicked");
    }));
    assert_eq!(b.state(), Open);
}

#[tokio::test(start_paused = true)]
async fn manual_control() {
    let mut events = registry().subscribe();
    let b = consecutive("sm.manual", 1, Reset::Fixed(secs(1)), 1);
    b.force_open();
    b.force_open();
    assert_eq!(b.state(), ForcedOpen);
    assert_eq!(b.try_acquire().unwrap_err().retry_after(), None);
    advance(secs(3600)).await;
    assert!(b.try_acquire().is_err(), "forced open does not time out");
    assert_eq!(
        transitions(&mut events, "sm.manual"),
        [(Closed, ForcedOpen)]
    );

    b.disable();
    b.disable();
    run(b, "FFFFFFFFFF");
    assert_eq!(b.state(), Disabled);
    assert_eq!(b.metrics().failures, 10);

    b.reset();
    assert_eq!(
        b.metrics(),
        Metrics::default(),
        "a reset empties every count"
    );
    b.reset();
    assert_eq!(b.state(), Closed);
    run(b, "F");
    assert_eq!(b.state(), Open, "closed again, with threshold 1");
    // A reset is a transition even on a closed breaker: it starts a new closed period.
    assert_eq!(
        transitions(&mut events, "sm.manual"),
        [
            (ForcedOpen, Disabled),
            (Disabled, Closed),
            (Closed, Closed),
            (Closed, Open)
        ]
    );
}

#[test]
fn config_errors_say_what_to_write() {
    use breaker_core::{Config, ConfigError};
    let err = Config::builder("x")
        .window(Window::Count(10))
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::WindowWithoutFailureRate);
    assert!(err.to_string().contains("add `failure_rate`"));
    let err = Config::builder("x")
        .failure_rate(50)
        .window(Window::Count(5))
        .min_calls(6)
        .build();
    assert_eq!(
        err.unwrap_err(),
        ConfigError::MinCallsAboveWindow {
            min_calls: 6,
            window: 5
        }
    );
    assert_eq!(
        Config::builder("x").failure_rate(101).build().unwrap_err(),
        ConfigError::FailureRateOutOfRange(101)
    );
    assert_eq!(
        Config::builder("x")
            .reset(Reset::Backoff {
                min: secs(2),
                max: secs(1)
            })
            .build()
            .unwrap_err(),
        ConfigError::ResetRangeInverted
    );
    assert_eq!(
        Config::builder("x").probes(0).build().unwrap_err(),
        ConfigError::ProbesOutOfRange(0)
    );
    assert_eq!(
        Config::builder("x").threshold(0).build().unwrap_err(),
        ConfigError::ZeroThreshold
    );
}
