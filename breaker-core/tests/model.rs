//! The programmatic API against a reference model, step by step.
//!
//! Random configurations (every trip policy, fixed and backed-off reset, 1 to 3 probes) meet random
//! sequences of admissions, outcomes, cancellations, manual controls and clock moves. The same
//! sequence runs on a `Breaker` and on `Model`, a small sequential state machine written from
//! DESIGN's rules (R5 late outcomes, R6 probe rounds, R7 one event per transition carrying its
//! generation, R10 every admitted call counted once), not from the implementation. After every step
//! the state, every field of `metrics()`, `remaining_open()` and the breaker's transition events
//! must agree with the model's.
//!
//! Time is tokio's paused clock, moved by whole milliseconds. 1024 cases run by default;
//! `PROPTEST_CASES=5000` runs more. A failure prints the smallest configuration and sequence
//! proptest could shrink it to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use breaker_core::{
    Breaker, Config, Metrics, Permit, Reason, Reset, State, Transition, Window, registry,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

// ---- what is generated ----

/// A trip policy, in the terms the model needs.
#[derive(Clone, Copy, Debug)]
enum Policy {
    Consecutive {
        threshold: u32,
    },
    Count {
        percent: u32,
        size: u32,
        min_calls: u32,
    },
    Time {
        percent: u32,
        span_ms: u64,
        min_calls: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    policy: Policy,
    reset: Reset,
    probes: u32,
}

/// One step. An index picks a held permit, counting back from the newest (modulo how many are
/// held); with none held the step does nothing.
#[derive(Clone, Copy, Debug)]
enum Op {
    Acquire,
    Success(usize),
    Failure(usize),
    Timeout(usize),
    Ignore(usize),
    /// Dropped without an outcome: a cancelled call.
    Drop(usize),
    /// Moves the paused clock.
    Advance(Move),
    ForceOpen,
    Disable,
    Reset,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    Timeout,
    Ignore,
    Cancel,
}

fn percent() -> impl Strategy<Value = u32> {
    select(vec![1u32, 34, 50, 67, 100])
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        (1..=4u32).prop_map(|threshold| Policy::Consecutive { threshold }),
        // `min_calls` may not exceed the window: drawn from 1..=6, then held to the window.
        (percent(), 2..=6u32, 1..=6u32).prop_map(|(percent, size, min_calls)| Policy::Count {
            percent,
            size,
            min_calls: min_calls.min(size),
        }),
        (percent(), select(vec![100u64, 250, 1000, 1900]), 1..=4u32).prop_map(
            |(percent, span_ms, min_calls)| Policy::Time {
                percent,
                span_ms,
                min_calls,
            }
        ),
    ]
}

fn reset() -> impl Strategy<Value = Reset> {
    prop_oneof![
        (100..=2000u64).prop_map(|d| Reset::Fixed(ms(d))),
        (100..=1000u64, 0..=1500u64).prop_map(|(min, longer)| Reset::Backoff {
            min: ms(min),
            max: ms(min + longer),
        }),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (policy(), reset(), 1..=3u32).prop_map(|(policy, reset, probes)| Spec {
        policy,
        reset,
        probes,
    })
}

/// A clock move, resolved against the case's configuration when it runs (so that the operations
/// are drawn, and shrunk, independently of the configuration).
#[derive(Clone, Copy, Debug)]
enum Move {
    /// This many milliseconds.
    Ms(u64),
    /// The open period (or round) after `0` failed rounds, plus `1` ms (-1, 0 or 1).
    Period(u32, i8),
    /// A time window's span plus `0` ms (the first period for other policies).
    Span(i8),
    /// A time window's bucket width plus `0` ms (the first period for other policies).
    Bucket(i8),
}

impl Move {
    fn millis(self, spec: Spec) -> u64 {
        let (edge, delta) = match (self, spec.policy) {
            (Move::Ms(d), _) => return d,
            (Move::Period(step, delta), _) => (period_ms(spec.reset, step), delta),
            (Move::Span(delta), Policy::Time { span_ms, .. }) => (span_ms, delta),
            (Move::Bucket(delta), Policy::Time { span_ms, .. }) => (bucket_ms(span_ms), delta),
            (Move::Span(delta) | Move::Bucket(delta), _) => (period_ms(spec.reset, 0), delta),
        };
        edge.saturating_add_signed(delta.into())
    }
}

/// Clock moves: mostly onto the edges that matter (an open period or a round of the first few
/// backoff steps, a time window's span or bucket, a millisecond either side), sometimes anywhere
/// in 0..=3000 ms.
fn advance() -> impl Strategy<Value = Move> {
    let delta = || -1..=1i8;
    prop_oneof![
        4 => (0..4u32, delta()).prop_map(|(step, d)| Move::Period(step, d)),
        1 => delta().prop_map(Move::Span),
        1 => delta().prop_map(Move::Bucket),
        2 => (0..=3000u64).prop_map(Move::Ms),
        1 => (0..=20u64).prop_map(Move::Ms),
    ]
}

/// Outcomes, admissions and clock moves; now and then a manual control, which ends whatever the
/// breaker was doing.
fn op() -> impl Strategy<Value = Op> {
    // Mostly the newest permit, which is the probe when there is one.
    let index = || prop_oneof![3 => Just(0usize), 1 => 0..8usize];
    prop_oneof![
        24 => Just(Op::Acquire),
        14 => index().prop_map(Op::Success),
        18 => index().prop_map(Op::Failure),
        4 => index().prop_map(Op::Timeout),
        3 => index().prop_map(Op::Ignore),
        3 => index().prop_map(Op::Drop),
        16 => advance().prop_map(Op::Advance),
        1 => Just(Op::ForceOpen),
        1 => Just(Op::Disable),
        2 => Just(Op::Reset),
    ]
}

fn case() -> impl Strategy<Value = (Spec, Vec<Op>)> {
    (spec(), prop::collection::vec(op(), 1..=60))
}

// ---- the model ----

/// Every counter of `Metrics`, compared as one value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    admitted: u64,
    successes: u64,
    failures: u64,
    ignored: u64,
    rejected: u64,
    timeouts: u64,
    late: u64,
    retries: u64,
    cancelled: u64,
    consecutive_failures: u64,
    window_calls: u64,
    window_failures: u64,
}

/// One transition event, as compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    from: State,
    to: State,
    reason: Reason,
    generation: u32,
}

/// What the model remembers of a permit it admitted.
#[derive(Clone, Copy, Debug)]
struct Ticket {
    generation: u32,
    probe: bool,
}

/// A breaker as DESIGN describes it, one step at a time. Times are milliseconds on the breaker's
/// clock.
#[derive(Debug)]
struct Model {
    spec: Spec,
    state: State,
    /// Bumped by every transition; a permit of an older one is late (R5).
    generation: u32,
    /// Failed half-open rounds since the last close, manual control or reset.
    step: u32,
    /// When the current open period, or the current half-open round, began.
    since: u64,
    /// Half-open: probes handed out in this round, and probes that succeeded.
    issued: u32,
    passed: u32,
    /// Closed, consecutive policy: recorded failures in a row.
    in_a_row: u32,
    /// Closed, rate policies: `(when, failed)` for every outcome recorded in this closed
    /// generation, oldest first (a count window keeps its last N only).
    recorded: Vec<(u64, bool)>,
    counts: Counts,
    events: Vec<Seen>,
}

impl Model {
    fn new(spec: Spec) -> Model {
        Model {
            spec,
            state: State::Closed,
            generation: 0,
            step: 0,
            since: 0,
            issued: 0,
            passed: 0,
            in_a_row: 0,
            recorded: Vec::new(),
            counts: Counts::default(),
            events: Vec::new(),
        }
    }

    fn period(&self) -> u64 {
        period_ms(self.spec.reset, self.step)
    }

    /// Every transition: a new generation, one event, a fresh period, and nothing carried over
    /// from the state it leaves.
    fn transition(&mut self, to: State, reason: Reason, now: u64) {
        self.generation = self.generation.wrapping_add(1);
        self.events.push(Seen {
            from: self.state,
            to,
            reason,
            generation: self.generation,
        });
        self.state = to;
        self.since = now;
        self.issued = 0;
        self.passed = 0;
        self.in_a_row = 0;
        self.recorded.clear();
    }

    /// `Ok` with the ticket of an admitted call; `Err` with the `retry_after` to expect when the
    /// model knows it (an open period's remainder).
    fn acquire(&mut self, now: u64) -> Result<Ticket, Option<u64>> {
        match self.state {
            State::Closed | State::Disabled => Ok(self.admit(false)),
            State::ForcedOpen => Err(self.reject(None)),
            State::Open => {
                let ends = self.since + self.period();
                if now < ends {
                    return Err(self.reject(Some(ends - now)));
                }
                self.transition(State::HalfOpen, Reason::ResetElapsed, now);
                self.issued = 1;
                Ok(self.admit(true))
            }
            State::HalfOpen => {
                if now >= self.since + self.period() {
                    self.transition(State::HalfOpen, Reason::ProbeRoundExpired, now);
                    self.issued = 1;
                    Ok(self.admit(true))
                } else if self.issued < self.spec.probes {
                    self.issued += 1;
                    Ok(self.admit(true))
                } else {
                    Err(self.reject(None))
                }
            }
        }
    }

    fn admit(&mut self, probe: bool) -> Ticket {
        self.counts.admitted += 1;
        Ticket {
            generation: self.generation,
            probe,
        }
    }

    fn reject(&mut self, retry_after: Option<u64>) -> Option<u64> {
        self.counts.rejected += 1;
        retry_after
    }

    fn settle(&mut self, ticket: Ticket, outcome: Outcome, now: u64) {
        let current = ticket.generation == self.generation;
        if outcome == Outcome::Cancel {
            // A dropped permit is always counted; a probe of the running round gives its slot back.
            self.counts.cancelled += 1;
            if current && ticket.probe {
                self.issued -= 1;
            }
            return;
        }
        if !current {
            self.counts.late += 1;
            return;
        }
        match outcome {
            Outcome::Success => self.counts.successes += 1,
            Outcome::Failure => self.counts.failures += 1,
            Outcome::Timeout => {
                self.counts.failures += 1;
                self.counts.timeouts += 1;
            }
            Outcome::Ignore => self.counts.ignored += 1,
            Outcome::Cancel => unreachable!(),
        }
        if ticket.probe {
            // A probe of the current generation: the breaker is in the half-open round that
            // admitted it.
            assert_eq!(self.state, State::HalfOpen, "model: a current probe");
            match outcome {
                Outcome::Success => {
                    self.passed += 1;
                    if self.passed == self.spec.probes {
                        self.step = 0;
                        self.transition(State::Closed, Reason::ProbesSucceeded, now);
                    }
                }
                Outcome::Failure | Outcome::Timeout => {
                    self.step = (self.step + 1).min(63);
                    self.transition(State::Open, Reason::ProbeFailed, now);
                }
                Outcome::Ignore => self.issued -= 1,
                Outcome::Cancel => unreachable!(),
            }
        } else if self.state == State::Closed {
            self.closed(outcome, now);
        }
        // Disabled: counted above, judged by nothing.
    }

    fn closed(&mut self, outcome: Outcome, now: u64) {
        let failed = match outcome {
            Outcome::Success => false,
            Outcome::Failure | Outcome::Timeout => true,
            Outcome::Ignore | Outcome::Cancel => return,
        };
        match self.spec.policy {
            Policy::Consecutive { threshold } => {
                if !failed {
                    self.in_a_row = 0;
                    return;
                }
                self.in_a_row += 1;
                if self.in_a_row == threshold {
                    self.trip(
                        Reason::ConsecutiveFailures {
                            failures: threshold,
                        },
                        now,
                    );
                }
            }
            Policy::Count {
                percent,
                size,
                min_calls,
            } => {
                self.recorded.push((now, failed));
                if self.recorded.len() > size as usize {
                    self.recorded.remove(0);
                }
                self.judge(percent, min_calls, now);
            }
            Policy::Time {
                percent, min_calls, ..
            } => {
                self.recorded.push((now, failed));
                self.judge(percent, min_calls, now);
            }
        }
    }

    fn judge(&mut self, percent: u32, min_calls: u32, now: u64) {
        let (calls, failures) = self.window(now);
        if calls >= u64::from(min_calls) && failures * 100 >= u64::from(percent) * calls {
            let reason = Reason::FailureRate {
                failures: u32::try_from(failures).unwrap(),
                calls: u32::try_from(calls).unwrap(),
            };
            self.trip(reason, now);
        }
    }

    fn trip(&mut self, reason: Reason, now: u64) {
        self.step = 0;
        self.transition(State::Open, reason, now);
    }

    /// `(calls, failures)` in the rate window at `now`.
    fn window(&self, now: u64) -> (u64, u64) {
        let inside = |at: u64| match self.spec.policy {
            Policy::Time { span_ms, .. } => {
                // Buckets of `w` ms on the breaker's clock; the window keeps every bucket from the
                // one holding `now + 1 - T` on, so an outcome stays at least T.
                let w = bucket_ms(span_ms);
                now + 1 < span_ms || at / w >= (now + 1 - span_ms) / w
            }
            _ => true,
        };
        self.recorded
            .iter()
            .filter(|&&(at, _)| inside(at))
            .fold((0, 0), |(calls, failures), &(_, failed)| {
                (calls + 1, failures + u64::from(failed))
            })
    }

    fn force_open(&mut self, now: u64) {
        if self.state != State::ForcedOpen {
            self.step = 0;
            self.transition(State::ForcedOpen, Reason::ForcedOpen, now);
        }
    }

    fn disable(&mut self, now: u64) {
        if self.state != State::Disabled {
            self.step = 0;
            self.transition(State::Disabled, Reason::Disabled, now);
        }
    }

    fn reset(&mut self, now: u64) {
        self.step = 0;
        self.transition(State::Closed, Reason::Reset, now);
        self.counts = Counts::default();
    }

    /// What `metrics()` should read now: the counters, and the trip counts of a closed breaker.
    fn metrics(&self, now: u64) -> Counts {
        let mut counts = self.counts;
        if self.state == State::Closed {
            match self.spec.policy {
                Policy::Consecutive { .. } => counts.consecutive_failures = self.in_a_row.into(),
                Policy::Count { .. } | Policy::Time { .. } => {
                    (counts.window_calls, counts.window_failures) = self.window(now);
                }
            }
        }
        counts
    }

    fn remaining_open(&self, now: u64) -> Option<u64> {
        (self.state == State::Open).then(|| (self.since + self.period()).saturating_sub(now))
    }
}

/// `min * 2^step` capped at `max`, written from the rule rather than taken from the crate.
fn period_ms(reset: Reset, step: u32) -> u64 {
    match reset {
        Reset::Fixed(d) => millis(d),
        Reset::Backoff { min, max } => {
            let doubled = 1u64
                .checked_shl(step)
                .map_or(u64::MAX, |factor| millis(min).saturating_mul(factor));
            doubled.min(millis(max))
        }
        other => unreachable!("the model generates fixed and backoff resets only, not {other:?}"),
    }
}

/// A time window of `span` ms slides in 20 steps of this many ms.
fn bucket_ms(span_ms: u64) -> u64 {
    span_ms.div_ceil(20)
}

// ---- running a case ----

fn run_case(spec: Spec, ops: &[Op]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(run_steps(spec, ops))
}

async fn run_steps(spec: Spec, ops: &[Op]) -> Result<(), TestCaseError> {
    // The breaker's clock counts from a process-wide base; only a time window's buckets care
    // where on it the case starts. `clock` is the model's reading of it, exact modulo the bucket
    // width, which is all the rules depend on.
    let mut clock = match spec.policy {
        Policy::Time { span_ms, .. } => {
            let w = bucket_ms(span_ms);
            let (phase, spent) = clock_phase(w).await;
            1_000_000 * w + phase + spent
        }
        _ => 1_000_000,
    };
    let mut events = registry().subscribe();
    let name = unique("model");
    let breaker = build(name, spec);
    let mut model = Model::new(spec);
    let mut held: Vec<(Permit<'static>, Ticket)> = Vec::new();
    let mut seen: Vec<Seen> = Vec::new();

    for (i, &op) in ops.iter().enumerate() {
        // Where a mismatch happened, and the model's view just before the comparison.
        macro_rules! at {
            () => {
                format!(
                    "step {i} ({op:?}); model: {:?} generation {} step {} issued {} passed {}",
                    model.state, model.generation, model.step, model.issued, model.passed
                )
            };
        }
        let settle = match op {
            Op::Acquire => {
                match (model.acquire(clock), breaker.try_acquire()) {
                    (Ok(ticket), Ok(permit)) => {
                        prop_assert_eq!(permit.is_probe(), ticket.probe, "{}", at!());
                        held.push((permit, ticket));
                    }
                    (Err(expected), Err(rejected)) => {
                        if let Some(remaining) = expected {
                            prop_assert_eq!(
                                rejected.retry_after(),
                                Some(ms(remaining)),
                                "{}",
                                at!()
                            );
                        }
                    }
                    (expected, got) => {
                        let got = got.map(|p| p.is_probe()).map_err(|r| r.retry_after());
                        let expected = expected.map(|t| t.probe);
                        prop_assert!(
                            false,
                            "admission: expected {expected:?} (Ok(probe) or Err(retry_after)), \
                             got {got:?} at {}",
                            at!()
                        );
                    }
                }
                None
            }
            Op::Success(n) => Some((n, Outcome::Success)),
            Op::Failure(n) => Some((n, Outcome::Failure)),
            Op::Timeout(n) => Some((n, Outcome::Timeout)),
            Op::Ignore(n) => Some((n, Outcome::Ignore)),
            Op::Drop(n) => Some((n, Outcome::Cancel)),
            Op::Advance(by) => {
                let d = by.millis(spec);
                tokio::time::advance(ms(d)).await;
                clock += d;
                None
            }
            Op::ForceOpen => {
                model.force_open(clock);
                breaker.force_open();
                None
            }
            Op::Disable => {
                model.disable(clock);
                breaker.disable();
                None
            }
            Op::Reset => {
                model.reset(clock);
                breaker.reset();
                None
            }
        };
        if let Some((n, outcome)) = settle
            && !held.is_empty()
        {
            let (permit, ticket) = held.remove(held.len() - 1 - n % held.len());
            model.settle(ticket, outcome, clock);
            match outcome {
                Outcome::Success => permit.success(),
                Outcome::Failure => permit.failure(),
                Outcome::Timeout => permit.timeout(),
                Outcome::Ignore => permit.ignore(),
                Outcome::Cancel => drop(permit),
            }
        }

        prop_assert_eq!(breaker.state(), model.state, "state after {}", at!());
        prop_assert_eq!(
            observed(&breaker.metrics()),
            model.metrics(clock),
            "metrics after {}",
            at!()
        );
        prop_assert_eq!(
            breaker.remaining_open(),
            model.remaining_open(clock).map(ms),
            "remaining_open after {}",
            at!()
        );
        while let Some(t) = events.try_recv().expect("the subscriber keeps up") {
            if t.breaker == name {
                seen.push(observed_event(&t));
            }
        }
        prop_assert_eq!(&seen, &model.events, "events after {}", at!());
    }
    Ok(())
}

/// The phase of the breaker's clock modulo a bucket width `w`, and the milliseconds spent finding
/// it.
///
/// The clock counts from a process-wide base a test cannot read, and a time window's buckets are
/// aligned on it. A window of 20 w (whose buckets are `w` wide) gets one outcome per millisecond
/// for `w + 1` ms, spanning two buckets; moving on a millisecond at a time, the first eviction
/// takes the whole first bucket at once, and how many outcomes it held tells where the first
/// outcome sat in its bucket. This does not depend on how long a window keeps a bucket.
async fn clock_phase(w: u64) -> (u64, u64) {
    let calibration = Config::builder(unique("model.phase"))
        .failure_rate(100) // successes never reach it
        .window(Window::Time(ms(20 * w)))
        .min_calls(1)
        .build()
        .expect("a valid calibration config");
    let calibration: &'static Breaker = Box::leak(Box::new(Breaker::new(calibration)));
    let mut spent = 0;
    for _ in 0..=w {
        calibration.try_acquire().expect("closed").success();
        tokio::time::advance(ms(1)).await;
        spent += 1;
    }
    // Nothing leaves a window of 20 buckets before 19 w have passed since the first outcome.
    tokio::time::advance(ms(19 * w - spent)).await;
    spent = 19 * w;
    while spent < 23 * w {
        let left = w + 1 - calibration.metrics().window_calls;
        if left > 0 {
            // The first bucket held `w - phase` of the outcomes, from phase `phase` on.
            return (w - left, spent);
        }
        tokio::time::advance(ms(1)).await;
        spent += 1;
    }
    panic!(
        "no outcome of a {} ms window left it within {spent} ms",
        20 * w
    );
}

fn build(name: &'static str, spec: Spec) -> &'static Breaker {
    let builder = Config::builder(name).reset(spec.reset).probes(spec.probes);
    let builder = match spec.policy {
        Policy::Consecutive { threshold } => builder.threshold(threshold),
        Policy::Count {
            percent,
            size,
            min_calls,
        } => builder
            .failure_rate(percent)
            .window(Window::Count(size))
            .min_calls(min_calls),
        Policy::Time {
            percent,
            span_ms,
            min_calls,
        } => builder
            .failure_rate(percent)
            .window(Window::Time(ms(span_ms)))
            .min_calls(min_calls),
    };
    Box::leak(Box::new(Breaker::new(
        builder.build().expect("a valid config"),
    )))
}

fn observed(m: &Metrics) -> Counts {
    Counts {
        admitted: m.admitted,
        successes: m.successes,
        failures: m.failures,
        ignored: m.ignored,
        rejected: m.rejected,
        timeouts: m.timeouts,
        late: m.late,
        retries: m.retries,
        cancelled: m.cancelled,
        consecutive_failures: m.consecutive_failures,
        window_calls: m.window_calls,
        window_failures: m.window_failures,
    }
}

fn observed_event(t: &Transition) -> Seen {
    Seen {
        from: t.from,
        to: t.to,
        reason: t.reason,
        generation: t.generation,
    }
}

/// A registry name no other case or test uses.
fn unique(prefix: &str) -> &'static str {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}.{}", NEXT.fetch_add(1, Ordering::Relaxed)).leak()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// 1024 cases (about a second and a half in a debug build), or `PROPTEST_CASES`. Failures are
/// printed shrunk rather than saved: a saved seed outlives the bug it found.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 1024;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn breaker_follows_the_model((spec, ops) in case()) {
        run_case(spec, &ops)?;
    }
}
