//! Transitions under contention: exactly one winner, exactly one event (R7).

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use breaker_core::{Reset, State, registry};
use common::*;

#[test]
fn eight_threads_failing_at_once_open_it_once() {
    let mut events = registry().subscribe();
    let b = consecutive("cc.trip", 5, Reset::Fixed(secs(3600)), 1);
    for round in 0..50 {
        let barrier = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    let permit = b.try_acquire().expect("closed");
                    barrier.wait();
                    permit.failure();
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(b.state(), State::Open, "round {round}");
        assert_eq!(
            transitions(&mut events, "cc.trip"),
            [(State::Closed, State::Open)],
            "round {round}: one event"
        );
        // All 8 failures were counted: as failures, or as late after the trip.
        let m = b.metrics();
        assert_eq!(m.failures + m.late, 8, "round {round}");
        assert!(m.failures >= 5, "round {round}");
        b.reset();
        assert_eq!(
            transitions(&mut events, "cc.trip"),
            [(State::Open, State::Closed)]
        );
    }
    // The reset of each round emptied its counts.
    assert_eq!(b.metrics(), breaker_core::Metrics::default());
}

#[test]
fn sixteen_threads_racing_into_half_open_get_two_probes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let mut events = registry().subscribe();
    let b = consecutive("cc.half_open", 1, Reset::Fixed(secs(10)), 2);
    for round in 0..50 {
        {
            let _clock = runtime.enter();
            run(b, "F");
        }
        runtime.block_on(tokio::time::advance(secs(10)));
        let barrier = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let handle = runtime.handle().clone();
                thread::spawn(move || {
                    // Entering the runtime makes this thread read its paused clock.
                    let _clock = handle.enter();
                    barrier.wait();
                    b.try_acquire().ok()
                })
            })
            .collect();
        let probes: Vec<_> = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(probes.len(), 2, "round {round}");
        assert!(probes.iter().all(|p| p.is_probe()));
        assert_eq!(b.state(), State::HalfOpen);
        assert_eq!(
            transitions(&mut events, "cc.half_open"),
            [(State::Closed, State::Open), (State::Open, State::HalfOpen)],
            "round {round}"
        );
        b.reset();
        drop(probes); // cancelled after the reset: late, they change nothing
        assert_eq!(b.state(), State::Closed);
        assert_eq!(
            transitions(&mut events, "cc.half_open"),
            [(State::HalfOpen, State::Closed)]
        );
    }
}

/// An outcome admitted in one closed period and recorded after the breaker went round a whole
/// cycle (opened by hand and reset) is late: it neither counts nor clears the new period's
/// failures (R5). The sequential case; the loom model `a_stale_failure_never_touches_the_new_periods_count`
/// covers the thread that stalls between reading the state and recording.
#[test]
fn an_outcome_from_a_past_closed_period_is_late() {
    let b = consecutive("cc.stale", 3, Reset::Fixed(secs(3600)), 1);
    let stale_failure = b.try_acquire().unwrap();
    let stale_success = b.try_acquire().unwrap();
    b.force_open();
    b.reset();
    run(b, "FF");
    stale_failure.failure();
    stale_success.success();
    let m = b.metrics();
    assert_eq!(m.consecutive_failures, 2, "the new period's count stands");
    assert_eq!((m.failures, m.successes, m.late), (2, 0, 2));
    run(b, "F");
    assert_eq!(b.state(), State::Open, "three failures of its own open it");

    let b = rate("cc.stale_rate", 50, breaker_core::Window::Count(10), 4);
    let stale = b.try_acquire().unwrap();
    b.force_open();
    b.reset();
    run(b, "FS");
    stale.failure();
    let m = b.metrics();
    assert_eq!((m.window_calls, m.window_failures, m.late), (2, 1, 1));
}
