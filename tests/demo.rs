//! The demo's scenario, checked: the same code `cargo run --example demo` prints, run once, and
//! every count compared with what DESIGN.md's runtime rules predict for `threshold = 5`,
//! `attempts = 3`, and for the storm (R11) and the nested calls (R12) that follow.
//!
//! The counts are exact because the scenario's calls are sequential and its phases move between
//! calls, and because the storm's retries end at the budget's allowance however its concurrent
//! calls interleave (see the scenario's module docs). The waits for open periods to end move
//! tokio's clock forward instead of sleeping; the only real time spent is the HTTP round trips,
//! the two attempt timeouts of the slow phase, and the 10 ms backoff waits of the storm and the
//! nested calls, which run against a real socket on a live clock (a paused one would let the HTTP
//! stack's own timers jump ahead while requests are in flight).

#[path = "../examples/demo/scenario.rs"]
mod scenario;

use std::sync::OnceLock;

use breakerbox::{Budget, Metrics, Reason, State, TripPolicy};
use scenario::{CallRecord, Inner, Outcome, Phase, Report, Run, SCRIPT};

/// The scenario plays once per process: its breakers are process-wide.
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(scenario::run(scenario::Waits::Skipped))
            .expect("the scenario's service binds 127.0.0.1")
    })
}

/// `n` calls that each ended with `outcome` after sending `requests` requests.
fn calls(n: usize, outcome: Outcome, requests: u32) -> Vec<CallRecord> {
    vec![CallRecord { outcome, requests }; n]
}

fn phase_calls(run: &Run, phase: Phase) -> Vec<CallRecord> {
    run.phase(phase).calls.clone()
}

const THRESHOLD: u32 = 5;
const ATTEMPTS: u32 = 3;

#[test]
fn both_breakers_have_the_same_threshold_and_attempts() {
    let report = report();
    for run in [&report.per_attempt, &report.per_call] {
        assert_eq!(
            run.breaker.config().policy(),
            TripPolicy::Consecutive {
                threshold: THRESHOLD
            }
        );
        let [site] = run.breaker.call_sites() else {
            panic!("one fn per breaker");
        };
        assert_eq!(site.policy().attempts(), ATTEMPTS);
        // The margin that makes every slow answer a timeout, whatever the machine's load.
        let timeout = site.policy().timeout().expect("the fns have a timeout");
        assert!(scenario::SLOW_ANSWER >= timeout * 20);
    }
    assert_eq!(SCRIPT.map(|(_, n)| n), [5, 10, 5, 5]);
    // The bound on the demo's run time; it takes about 4 s.
    assert!(report.took < std::time::Duration::from_secs(30));
}

#[test]
fn healthy_phases_send_one_request_per_call() {
    let report = report();
    for run in [&report.per_attempt, &report.per_call] {
        for phase in [Phase::Healthy, Phase::Recovered] {
            assert_eq!(phase_calls(run, phase), calls(5, Outcome::Ok, 1));
        }
    }
}

/// R1: every attempt is admitted and recorded, so the 5th failed request opens the breaker: call 1
/// sends 3, call 2 sends 2 and then ends at once with the real error (the breaker it fed has
/// opened: no sleep, no 3rd attempt). The other 8 calls are answered by the open breaker (R4).
#[test]
fn per_attempt_opens_after_5_failed_requests() {
    let run = &report().per_attempt;
    let failing = run.phase(Phase::Failing);
    let mut expected = calls(1, Outcome::Status(503), 3);
    expected.extend(calls(1, Outcome::Status(503), 2));
    expected.extend(calls(8, Outcome::Rejected, 0));
    assert_eq!(failing.calls, expected);
    assert_eq!(failing.requests(), THRESHOLD);
}

/// R2: one outcome per call, recorded after its retries: 5 calls of 3 failed requests each open it,
/// 15 requests in all. The other 5 calls are answered by the open breaker.
#[test]
fn per_call_opens_after_15_failed_requests() {
    let run = &report().per_call;
    let failing = run.phase(Phase::Failing);
    let mut expected = calls(5, Outcome::Status(503), 3);
    expected.extend(calls(5, Outcome::Rejected, 0));
    assert_eq!(failing.calls, expected);
    assert_eq!(failing.requests(), THRESHOLD * ATTEMPTS);
}

/// The headline: the same threshold lets `attempts` times as many requests reach the failing
/// service under per_call.
#[test]
fn per_call_sends_attempts_times_as_many_requests_before_opening() {
    let report = report();
    let a = report.per_attempt.phase(Phase::Failing).requests();
    let c = report.per_call.phase(Phase::Failing).requests();
    assert_eq!((a, c), (5, 15));
    assert_eq!(c, a * ATTEMPTS);
}

/// The slow phase starts with a half-open probe. A timeout is a transient failure (R3), so the
/// probe fails and the breaker opens again (R6) after exactly 1 request under both granularities:
/// per_attempt because the reopened breaker ends the loop (R1), per_call because a probe makes a
/// single attempt (R2). The 4 other calls are answered at once.
#[test]
fn a_half_open_probe_sends_one_request_under_both() {
    let report = report();
    for run in [&report.per_attempt, &report.per_call] {
        let mut expected = calls(1, Outcome::TimedOut, 1);
        expected.extend(calls(4, Outcome::Rejected, 0));
        assert_eq!(
            phase_calls(run, Phase::Slow),
            expected,
            "{}",
            run.breaker.name()
        );
    }
}

#[test]
fn outage_totals() {
    let report = report();
    // per_attempt: 5 + 1 requests, 8 + 4 rejected calls.
    assert_eq!(report.per_attempt.outage_requests(), 6);
    assert_eq!(report.per_attempt.outage_rejected(), 12);
    // per_call: 15 + 1 requests, 5 + 4 rejected calls.
    assert_eq!(report.per_call.outage_requests(), 16);
    assert_eq!(report.per_call.outage_rejected(), 9);
}

/// One event per transition (R7), each in the phase whose call made it.
#[test]
fn timeline_from_subscribe() {
    let report = report();
    let expected = [
        (
            Phase::Failing,
            State::Closed,
            State::Open,
            Reason::ConsecutiveFailures { failures: 5 },
        ),
        (
            Phase::Slow,
            State::Open,
            State::HalfOpen,
            Reason::ResetElapsed,
        ),
        (
            Phase::Slow,
            State::HalfOpen,
            State::Open,
            Reason::ProbeFailed,
        ),
        (
            Phase::Recovered,
            State::Open,
            State::HalfOpen,
            Reason::ResetElapsed,
        ),
        (
            Phase::Recovered,
            State::HalfOpen,
            State::Closed,
            Reason::ProbesSucceeded,
        ),
    ];
    for run in [&report.per_attempt, &report.per_call] {
        let seen: Vec<_> = run
            .timeline
            .iter()
            .map(|e| {
                assert_eq!(e.transition.breaker, run.breaker.name());
                (
                    e.phase,
                    e.transition.from,
                    e.transition.to,
                    e.transition.reason,
                )
            })
            .collect();
        assert_eq!(seen, expected, "{}", run.breaker.name());
        assert!(run.timeline.is_sorted_by_key(|e| e.elapsed));
    }
}

/// The breakers' own counts agree with the requests the service saw. per_attempt admits and
/// records each attempt; per_call admits each call once and counts its extra attempts as retries.
#[test]
fn metrics_at_the_end() {
    let report = report();
    let expect = |admitted, rejected, retries| {
        let mut m = Metrics::default();
        m.admitted = admitted;
        m.successes = 5 + 5; // the two healthy phases
        m.failures = 5 + 1; // 5 to open, 1 failed probe
        m.timeouts = 1; // the failed probe
        m.rejected = rejected;
        m.retries = retries;
        m
    };
    // Admitted: 5 + 5 attempts + 1 probe + 5. Retries: call 1's 2nd and 3rd attempts, call 2's 2nd.
    // Rejected: the 12 calls answered at once, and the next attempt refused right after the
    // opening failure and after the failed probe (asked for before the backoff wait, R1).
    assert_eq!(report.per_attempt.breaker.metrics(), expect(16, 14, 3));
    // Admitted: 5 + 5 calls + 1 probe + 5. Retries: 2 in each of the 5 failed calls.
    assert_eq!(report.per_call.breaker.metrics(), expect(16, 9, 10));
    for run in [&report.per_attempt, &report.per_call] {
        assert_eq!(run.breaker.state(), State::Closed);
    }
}

/// R11: 1,000 calls of 3 attempts against the service while it is down, their breaker switched off.
/// Without a budget, 3,000 requests. Under the default budget, the first 100 calls get a retry
/// from the floor (10 a second over 10 s), then one call in five as the first attempts grow
/// (20% of 1,000): 200 retries, 1,200 requests; every second retry is denied. The count holds
/// however the 100 calls in flight interleave, as long as the storm fits in the budget's window.
#[test]
fn the_storm_sends_3000_requests_without_a_budget_and_1200_with_one() {
    let report = report();
    let (off, on) = (&report.storm_unbounded, &report.storm);
    assert_eq!(off.breaker.config().budget(), Budget::Off);
    assert_eq!(on.breaker.config().budget(), Budget::DEFAULT);
    for storm in [off, on] {
        assert_eq!(storm.breaker.state(), State::Disabled);
        assert_eq!(
            storm.failed,
            scenario::STORM_CALLS,
            "every call failed with 503"
        );
        assert!(
            storm.took < std::time::Duration::from_secs(9),
            "the storm fits in the budget's window: {:?}",
            storm.took
        );
    }
    assert_eq!(
        (
            off.requests,
            off.metrics.retries,
            off.metrics.retries_denied
        ),
        (3_000, 2_000, 0)
    );
    assert_eq!(
        (on.requests, on.metrics.retries, on.metrics.retries_denied),
        (1_200, 200, 1_000)
    );
    // Exactly R11's bound: first attempts + max(20% of them, 10 per second x 10 s).
    let first_attempts = scenario::STORM_CALLS;
    assert_eq!(
        on.requests,
        first_attempts + (first_attempts * 20 / 100).max(10 * 10)
    );
}

/// R12: `quote_page` (3 attempts) over an inner fn of 3 attempts: 3 requests per outer call, as
/// the inner fn makes one attempt inside each outer attempt; 9 with `nested = "retry"`. Both
/// nestings are in the registry with that worst case; the first one cut 15 calls to one attempt.
#[test]
fn nested_calls_send_3_requests_per_outer_call_or_9_with_nested_retry() {
    let report = report();
    let [as_written, nested_retry] = &report.nested;
    assert_eq!(as_written.inner, Inner::AsWritten);
    assert_eq!(as_written.per_outer_call, [3; 5]);
    assert_eq!(nested_retry.inner, Inner::NestedRetry);
    assert_eq!(nested_retry.per_outer_call, [9; 5]);
    let edges: Vec<(&str, &str, u32, u64)> = breakerbox::registry()
        .edges()
        .filter(|e| e.outer().function().ends_with("::quote_page"))
        .map(|e| {
            (
                e.outer().breaker().name(),
                e.inner().breaker().name(),
                e.worst_case(),
                e.suppressed(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            ("pages.quote_page", "quotes.inner", 3, 15),
            ("pages.quote_page", "quotes.inner_retrying", 9, 0),
        ]
    );
    let m = breakerbox::registry()
        .get("quotes.inner")
        .unwrap()
        .metrics();
    assert_eq!((m.admitted, m.retries, m.nested_single), (15, 0, 15));
    let table = breakerbox::registry().to_string();
    assert!(
        table.contains("quote_page -> demo::scenario::quote_inner_retrying"),
        "{table}"
    );
}
