//! Model-checked with loom: every interleaving of the state machine's atomics and locks, as
//! written. Every model ends by checking liveness, not only state: once the open period or the
//! half-open round has run out, the next admission is admitted (R6).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p breaker-core --test loom --release`.
#![cfg(loom)]

use std::time::Duration;

use breaker_core::{Breaker, Config, Reset, State, Window, advance, rewind};
use loom::sync::Arc;
use loom::thread;

/// Runs a model, each execution from time zero.
fn model(f: impl Fn() + Sync + Send + 'static) {
    loom::model(move || {
        rewind();
        f();
    });
}

/// As [`model`], with at most two preemptions per execution: for the window models, whose
/// 20-bucket rings make every preemption point cost many executions. Two preemptions still cover
/// a record stalled between each pair of its steps while another completes.
fn model_bounded(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || {
        rewind();
        f();
    });
}

/// The open period of every model's breaker, in milliseconds.
const PERIOD: u64 = 1_000;

fn breaker(threshold: u32, probes: u32) -> Arc<Breaker> {
    let config = Config::builder("loom")
        .threshold(threshold)
        .reset(Reset::Fixed(Duration::from_millis(PERIOD)))
        .probes(probes)
        .build()
        .unwrap();
    Arc::new(Breaker::new(config))
}

/// Opens `b` with `threshold` failures and lets its period pass, so the next admission starts a
/// half-open round.
fn open_and_wait(b: &Breaker, threshold: u32) {
    for _ in 0..threshold {
        b.try_acquire().unwrap().failure();
    }
    assert_eq!(b.state(), State::Open);
    advance(PERIOD);
}

/// The liveness check every model ends with: whatever happened, once a full period has passed
/// with no call in flight, a caller is admitted; a forced-open breaker is the one exception, and
/// `reset` brings it back.
fn still_admits(b: &Breaker) {
    advance(PERIOD);
    if b.state() == State::ForcedOpen {
        assert!(b.try_acquire().is_err());
        b.reset();
    }
    let permit = b.try_acquire();
    assert!(
        permit.is_ok(),
        "wedged: {:?} rejects after its period ran out",
        b
    );
}

/// One thread per outcome, racing: each asks `b` for admission and, admitted, records a failure
/// (`true`) or a success. A refused thread records nothing; the models' exact counts show it.
fn race(b: &Arc<Breaker>, outcomes: &[bool]) {
    let threads: Vec<_> = outcomes
        .iter()
        .map(|&fail| {
            let b = Arc::clone(b);
            thread::spawn(move || {
                if let Ok(p) = b.try_acquire() {
                    if fail { p.failure() } else { p.success() }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

#[test]
fn half_open_quota_holds_under_concurrent_admissions() {
    model(|| {
        let b = breaker(1, 2);
        open_and_wait(&b, 1);
        let generation = b.__generation();
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = Arc::clone(&b);
                thread::spawn(move || b.try_acquire().map(std::mem::forget).is_ok())
            })
            .collect();
        let admitted = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|ok| *ok)
            .count();
        assert_eq!(admitted, 2);
        assert_eq!(b.state(), State::HalfOpen);
        // One transition: Open -> HalfOpen, whoever won it.
        assert_eq!(b.__generation(), generation.wrapping_add(1));
        // Both slots are held by permits that will never settle: the round expires, and the next
        // caller starts a new one.
        still_admits(&b);
    });
}

#[test]
fn concurrent_failures_trip_once() {
    model(|| {
        let b = breaker(2, 1);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let b = Arc::clone(&b);
                thread::spawn(move || {
                    if let Ok(p) = b.try_acquire() {
                        p.failure();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.__generation(), 1, "exactly one Closed -> Open");
        let m = b.metrics();
        assert_eq!(m.failures + m.late + m.rejected, 3);
        still_admits(&b);
    });
}

#[test]
fn a_probe_dropped_while_a_new_round_starts_leaks_no_slot() {
    model(|| {
        let b = breaker(1, 1);
        open_and_wait(&b, 1);
        // The first round's probe hangs past one period, then is dropped while another caller
        // starts the next round.
        let hung = b.try_acquire().unwrap();
        advance(PERIOD);
        let b2 = Arc::clone(&b);
        let starter = thread::spawn(move || b2.try_acquire().map(std::mem::forget).is_ok());
        drop(hung);
        let started = starter.join().unwrap();
        assert!(
            started,
            "either the given-back slot or a new round admits the caller"
        );
        assert_eq!(b.state(), State::HalfOpen);
        // The caller holds the round's only slot (forgotten: never given back) in a round that began
        // no earlier than now, so the next one is rejected; the dropped probe gave back nothing
        // twice.
        assert!(b.try_acquire().is_err());
        still_admits(&b);
    });
}

#[test]
fn a_probe_success_and_failure_race_to_one_decision() {
    model(|| {
        let b = breaker(1, 2);
        open_and_wait(&b, 1);
        let generation = b.__generation();
        let b1 = Arc::clone(&b);
        let b2 = Arc::clone(&b);
        let t1 = thread::spawn(move || b1.try_acquire().map(|p| p.success()).is_ok());
        let t2 = thread::spawn(move || b2.try_acquire().map(|p| p.failure()).is_ok());
        let _success_admitted = t1.join().unwrap();
        // The failing probe is always admitted: first into the round, or second beside the
        // success (two probes fit in a round).
        assert!(t2.join().unwrap());
        // The failure always decides (reopen); the success alone cannot close with probes = 2.
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.__generation(), generation.wrapping_add(2));
        still_admits(&b);
    });
}

/// The wedge: the winner of Open -> HalfOpen stalls between its swap and the stamp of its round; a
/// second probe is admitted, fails and reopens the breaker with a newer stamp; then the stalled
/// winner publishes its older stamp over it. Every admission then found no stamp for the current
/// generation and was rejected for a full period, forever.
#[test]
fn a_stalled_round_winner_cannot_wedge_the_breaker() {
    model(|| {
        let b = breaker(1, 2);
        open_and_wait(&b, 1);
        let b1 = Arc::clone(&b);
        let b2 = Arc::clone(&b);
        let winner = thread::spawn(move || b1.try_acquire().is_ok());
        let failer = thread::spawn(move || b2.try_acquire().map(|p| p.failure()).is_ok());
        // The winner may come second, after the failure reopened the breaker, and be refused; the
        // failing probe is always admitted (first, or beside the winner: two probes fit).
        let _winner_admitted = winner.join().unwrap();
        assert!(failer.join().unwrap());
        // The failure reopened it (failed rounds: 1, still one period with a fixed reset).
        assert_eq!(b.state(), State::Open);
        still_admits(&b);
    });
}

/// `reset` (alone, or after `force_open`) landing while the winner of Open -> HalfOpen is between
/// its swap and its stamp, then a failure opening the breaker again: the winner's late stamp
/// used to overwrite the new open period's, and the breaker stayed open for good.
#[test]
fn a_reset_racing_a_round_leaves_it_live() {
    manual_control_racing_a_round(false);
}

#[test]
fn a_force_open_and_reset_racing_a_round_leave_it_live() {
    manual_control_racing_a_round(true);
}

fn manual_control_racing_a_round(force_open_first: bool) {
    model(move || {
        let b = breaker(1, 1);
        open_and_wait(&b, 1);
        let b1 = Arc::clone(&b);
        let b2 = Arc::clone(&b);
        let probe = thread::spawn(move || b1.try_acquire().is_ok());
        let operator = thread::spawn(move || {
            if force_open_first {
                b2.force_open();
            }
            b2.reset();
            if let Ok(p) = b2.try_acquire() {
                p.failure();
            }
        });
        let _probe_admitted = probe.join().unwrap();
        operator.join().unwrap();
        still_admits(&b);
    });
}

/// An outcome of a past closed period, recorded after the breaker went round a whole cycle, is
/// late: it never overwrites the new period's count (R5). Before, the stalled thread's
/// compare-and-swap replaced the new period's count with its own generation's.
#[test]
fn a_stale_failure_never_touches_the_new_periods_count() {
    model(|| {
        let b = breaker(3, 1);
        let b2 = Arc::clone(&b);
        let stalled = thread::spawn(move || {
            b2.try_acquire().ok().map(|p| {
                let generation = p.generation();
                p.failure();
                generation
            })
        });
        b.force_open();
        b.reset();
        b.try_acquire().unwrap().failure();
        let admitted_in = stalled.join().unwrap();
        // The new closed period holds this thread's failure, and the other one's only when that
        // was admitted in it: a failure of an older period counts there (emptied by the reset) or
        // is late, never here.
        let current = b.__generation();
        let expected = 1 + u64::from(admitted_in == Some(current));
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.metrics().consecutive_failures, expected);
        still_admits(&b);
    });
}

/// A time window's closed period restarting (a reset empties its buckets, before any call of the
/// new period is admitted) while a failure of the old period is being recorded: the new period
/// counts only its own outcomes.
#[test]
fn a_time_window_restarting_under_a_stale_record_counts_only_its_own() {
    model_bounded(|| {
        let config = Config::builder("loom.time")
            .failure_rate(100)
            .window(Window::Time(Duration::from_secs(60)))
            .min_calls(10)
            .build()
            .unwrap();
        let b = Arc::new(Breaker::new(config));
        let b2 = Arc::clone(&b);
        let stalled = thread::spawn(move || {
            b2.try_acquire().ok().map(|p| {
                let generation = p.generation();
                p.failure();
                generation
            })
        });
        b.force_open();
        b.reset();
        b.try_acquire().unwrap().failure();
        let admitted_in = stalled.join().unwrap();
        let own = 1 + u64::from(admitted_in == Some(b.__generation()));
        let m = b.metrics();
        assert_eq!((m.window_calls, m.window_failures), (own, own));
        still_admits(&b);
    });
}

/// The failure-rate window under every interleaving: two failures and a success racing into a
/// window of 2 that opens at 50 % trip it exactly once.
#[test]
fn the_rate_window_trips_once() {
    model_bounded(|| {
        let config = Config::builder("loom.rate")
            .failure_rate(50)
            .window(Window::Count(2))
            .min_calls(2)
            .reset(Reset::Fixed(Duration::from_millis(PERIOD)))
            .build()
            .unwrap();
        let b = Arc::new(Breaker::new(config));
        race(&b, &[false, true, true]);
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.__generation(), 1, "exactly one Closed -> Open");
        let m = b.metrics();
        assert_eq!(m.successes + m.failures + m.late + m.rejected, 3);
        still_admits(&b);
    });
}

/// A success that completes `min_calls` while a failure is in a time window judges the rate, even
/// though a success in a window without a failure skips the tally: a failure and a success racing
/// into a window that opens at 50 % of 2 calls open it exactly once, whichever records last.
#[test]
fn a_success_completing_min_calls_trips_a_time_window() {
    model_bounded(|| {
        let config = Config::builder("loom.time")
            .failure_rate(50)
            .window(Window::Time(Duration::from_secs(60)))
            .min_calls(2)
            .reset(Reset::Fixed(Duration::from_millis(PERIOD)))
            .build()
            .unwrap();
        let b = Arc::new(Breaker::new(config));
        race(&b, &[true, false]);
        assert_eq!(b.state(), State::Open);
        assert_eq!(b.__generation(), 1, "exactly one Closed -> Open");
        let m = b.metrics();
        assert_eq!((m.successes, m.failures), (1, 1));
        still_admits(&b);
    });
}

/// The lock-free windows are exact once no record is in flight: three racing outcomes in a count
/// window of 4, or in one bucket of a time window, are all there, and three racing into a count
/// window of 2 leave exactly 2.
#[test]
fn the_windows_are_exact_at_quiescence() {
    let time = Window::Time(Duration::from_secs(60));
    for (window, outcomes, calls, failures) in [
        (Window::Count(4), [false, true, true], 3, 2),
        (Window::Count(2), [false, false, false], 2, 0),
        (time, [false, true, true], 3, 2),
    ] {
        model_bounded(move || {
            let min_calls = if window == Window::Count(2) { 2 } else { 4 };
            let config = Config::builder("loom.window")
                .failure_rate(100)
                .window(window)
                .min_calls(min_calls)
                .build()
                .unwrap();
            let b = Arc::new(Breaker::new(config));
            race(&b, &outcomes);
            let m = b.metrics();
            assert_eq!((m.window_calls, m.window_failures), (calls, failures));
            still_admits(&b);
        });
    }
}
