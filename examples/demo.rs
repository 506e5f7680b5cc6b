//! One outage, two ways to count it, and the load bound beyond one call.
//!
//! A local HTTP service follows a script (healthy, failing, slow, healthy again) and a client calls
//! it through two `#[circuit_breaker]` fns with the same `threshold` and `attempts`, one with
//! `retry = "per_attempt"`, one with `retry = "per_call"`. The demo prints when each breaker changed
//! state, how many requests reached the service during the outage under each, how many calls the
//! open breaker answered at once, and the registry at the end.
//!
//! Then two phases against the service while it is down: a storm of 1,000 concurrent calls whose
//! breaker is switched off, with and without a retry budget, and an annotated fn calling another,
//! with and without `nested = "retry"`: the requests the failing service receives, per breaker and
//! per nested operation.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The scenario itself is in `demo/scenario.rs`; `tests/demo.rs` runs it too and checks the counts.

#[path = "demo/scenario.rs"]
mod scenario;

use breakerbox::{Breaker, Budget, TripPolicy};
use scenario::{Inner, Outcome, Phase, PhaseRecord, Report, Run, SCRIPT, Storm};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    print_intro();
    let report = scenario::run(scenario::Waits::Real).await?;
    print_calls(&report);
    print_timeline(&report);
    print_counts(&report);
    print_storm(&report);
    print_nested(&report);
    println!("The registry at the end (`println!(\"{{}}\", breakerbox::registry())`):");
    println!();
    print!("{}", indent(&breakerbox::registry().to_string()));
    println!();
    println!("Finished in {:.1} s.", report.took.as_secs_f64());
    Ok(())
}

fn print_intro() {
    println!("breaker demo: one outage, two ways to count it");
    println!();
    println!("A local HTTP service follows a script. A client calls it through two fns whose");
    println!("#[circuit_breaker] attributes differ only in `retry`:");
    println!();
    for name in [scenario::PER_ATTEMPT, scenario::PER_CALL] {
        let breaker = breakerbox::registry()
            .get(name)
            .expect("the scenario declares it");
        println!("  {name:<20}  {}", settings(breaker));
    }
    println!();
    println!("  {:<10} {:>5}  the service answers", "phase", "calls");
    for (phase, calls) in SCRIPT {
        println!("  {:<10} {calls:>5}  {}", name(phase), behaviour(phase));
    }
    println!();
    println!("Calls run one after another. Before each phase the client waits until any open");
    println!("period is over, so each phase after the first starts with a half-open probe.");
    println!();
}

/// `threshold 5, reset 500ms, 3 attempts per_attempt, timeout 250ms`, read from the registry.
fn settings(breaker: &Breaker) -> String {
    let trips = match breaker.config().policy() {
        TripPolicy::Consecutive { threshold } => format!("threshold {threshold}"),
        TripPolicy::FailureRate { percent, .. } => format!("failure_rate {percent}%"),
        other => format!("{other:?}"),
    };
    let reset = breaker.config().reset().period(0);
    let policy = breaker
        .call_sites()
        .first()
        .map_or_else(String::new, |site| site.policy().to_string());
    format!("{trips}, reset {reset:?}, {policy}")
}

/// Each call as the requests it sent: `3` is a call that sent three, `·` a call the open breaker
/// answered at once.
fn print_calls(report: &Report) {
    println!("Requests each call sent (· = answered at once by the open breaker, no request):");
    println!();
    for (index, (phase, _)) in SCRIPT.iter().enumerate() {
        for (label, run) in runs(report) {
            let record = &run.phases[index];
            let strip: Vec<String> = record
                .calls
                .iter()
                .map(|call| match call.outcome {
                    Outcome::Rejected => "·".to_owned(),
                    _ => call.requests.to_string(),
                })
                .collect();
            let first = if label == "per_attempt" {
                name(*phase)
            } else {
                ""
            };
            let requests = record.requests();
            let noun = if requests == 1 {
                "request "
            } else {
                "requests"
            };
            println!(
                "  {first:<10} {label:<12} {:<20} {requests:>3} {noun}  {}",
                strip.join(" "),
                outcomes(record),
            );
        }
    }
    println!();
}

/// `2 failed with 503, 8 rejected`: the outcomes of a phase's calls, in order of first appearance.
fn outcomes(record: &PhaseRecord) -> String {
    let mut seen: Vec<Outcome> = Vec::new();
    for call in &record.calls {
        if !seen.contains(&call.outcome) {
            seen.push(call.outcome);
        }
    }
    let parts: Vec<String> = seen
        .into_iter()
        .map(|outcome| {
            let n = record.count(outcome);
            match outcome {
                Outcome::Ok => format!("{n} ok"),
                Outcome::Status(code) => format!("{n} failed with {code}"),
                Outcome::TimedOut => format!("{n} timed out"),
                Outcome::Transport => format!("{n} failed to connect"),
                Outcome::Rejected => format!("{n} rejected"),
            }
        })
        .collect();
    parts.join(", ")
}

fn print_timeline(report: &Report) {
    println!("State transitions, from `breakerbox::registry().subscribe()`:");
    println!();
    println!(
        "  {:>6}  {:<19} {:<10} {:<20} why",
        "ms", "breaker", "phase", "transition"
    );
    for (_, run) in runs(report) {
        for entry in &run.timeline {
            let t = &entry.transition;
            println!(
                "  {:>6}  {:<19} {:<10} {:<20} {}",
                entry.elapsed.as_millis(),
                t.breaker,
                name(entry.phase),
                format!("{} -> {}", t.from, t.to),
                t.reason,
            );
        }
    }
    println!();
}

fn print_counts(report: &Report) {
    let (a, c) = (&report.per_attempt, &report.per_call);
    let failing_a = a.phase(Phase::Failing).requests();
    let failing_c = c.phase(Phase::Failing).requests();
    let probe_a = a.phase(Phase::Slow).requests();
    let probe_c = c.phase(Phase::Slow).requests();
    println!("During the outage (failing + slow):");
    println!();
    println!("  {:<46} {:>11} {:>8}", "", "per_attempt", "per_call");
    let row = |what: &str, x: u32, y: u32| println!("  {what:<46} {x:>11} {y:>8}");
    row(
        "requests that reached the failing service",
        failing_a,
        failing_c,
    );
    row("requests sent by the half-open probe", probe_a, probe_c);
    row(
        "requests that reached the service, in all",
        a.outage_requests(),
        c.outage_requests(),
    );
    row(
        "calls answered at once by the open breaker",
        a.outage_rejected(),
        c.outage_rejected(),
    );
    println!();
    let attempts = a
        .breaker
        .call_sites()
        .first()
        .map_or(1, |site| site.policy().attempts());
    let threshold = match a.breaker.config().policy() {
        TripPolicy::Consecutive { threshold } => threshold,
        _ => 0,
    };
    let ratio = failing_c.checked_div(failing_a).unwrap_or(0);
    print!(
        "{}",
        wrap(&format!(
            "With threshold {threshold} and {attempts} attempts, per_attempt opened after \
             {failing_a} failed requests and per_call after {failing_c}: {ratio}x as many, the \
             number of attempts, because per_call counts a call once, after its retries. The \
             half-open probe sent {probe_a} request under per_attempt and {probe_c} under \
             per_call: a per_call probe makes a single attempt, so retries never pile onto a \
             service that is coming back. per_call puts up with more before it opens, and the \
             service pays for it; per_attempt opens sooner, on a few unlucky requests."
        ))
    );
    println!();
}

fn print_storm(report: &Report) {
    let runs = [&report.storm_unbounded, &report.storm];
    let attempts = attempts_of(report.storm.breaker);
    print!(
        "{}",
        wrap(&format!(
            "A storm: {} calls of {attempts} attempts against the service while it is down, {} \
             at a time. Their breaker is switched off (`disable()`), so nothing but the retry \
             budget stands between the retries and the service:",
            scenario::STORM_CALLS,
            scenario::STORM_IN_FLIGHT,
        ))
    );
    println!();
    println!(
        "  {:<38} {:>8} {:>8} {:>15} {:>7}",
        "", "requests", "retries", "retries denied", "took"
    );
    for run in runs {
        println!(
            "  {:<38} {:>8} {:>8} {:>15} {:>6}ms",
            budget_label(run),
            run.requests,
            run.metrics.retries,
            run.metrics.retries_denied,
            run.took.as_millis(),
        );
    }
    println!();
    let (off, on) = (&report.storm_unbounded, &report.storm);
    print!(
        "{}",
        wrap(&format!(
            "All {} calls failed either way. Without a budget each made its {attempts} \
             attempts: {} requests. The budget allows retries of up to 20% of the first attempts \
             over the last 10s, or 10 a second when that is more: {} first attempts, {} \
             retries, {} requests. A denied retry is not waited for: the call returns its error \
             at once.",
            on.failed.min(off.failed),
            off.requests,
            scenario::STORM_CALLS,
            on.metrics.retries,
            on.requests,
        ))
    );
    println!();
}

fn budget_label(run: &Storm) -> String {
    match run.breaker.config().budget() {
        Budget::Off => "budget = \"off\"".to_owned(),
        budget => format!("default budget ({budget}, at least 10/s)"),
    }
}

fn print_nested(report: &Report) {
    println!(
        "Nested: `quote_page` ({} attempts) calls a quote fn of {} attempts, the service is down:",
        attempts_of(breaker("pages.quote_page")),
        attempts_of(breaker("quotes.inner")),
    );
    println!();
    println!("  {:<36} requests per outer call", "inner fn");
    for nesting in &report.nested {
        let label = match nesting.inner {
            Inner::AsWritten => "as written (one attempt when nested)",
            Inner::NestedRetry => "with nested = \"retry\"",
        };
        let per_call: Vec<String> = nesting
            .per_outer_call
            .iter()
            .map(ToString::to_string)
            .collect();
        println!("  {label:<36} {}", per_call.join(" "));
    }
    println!();
    print!(
        "{}",
        wrap(
            "Inside an attempt of a retrying fn, an annotated fn makes a single attempt: the \
             outer fn's retries are the only ones, and the failing service receives 3 requests \
             per outer call instead of 3 x 3. The registry records each nesting it sees, with \
             its worst case (the table below, and `registry().edges()`):"
        )
    );
    println!();
    for edge in breakerbox::registry().edges() {
        println!("  {edge}");
    }
    println!();
}

fn breaker(name: &str) -> &'static Breaker {
    breakerbox::registry()
        .get(name)
        .expect("the scenario declares it")
}

/// The attempts of the (first) fn calling through `breaker`.
fn attempts_of(breaker: &Breaker) -> u32 {
    breaker
        .call_sites()
        .first()
        .map_or(1, |site| site.policy().attempts())
}

fn name(phase: Phase) -> &'static str {
    match phase {
        Phase::Healthy => "healthy",
        Phase::Failing => "failing",
        Phase::Slow => "slow",
        Phase::Recovered => "recovered",
    }
}

fn behaviour(phase: Phase) -> String {
    match phase {
        Phase::Healthy | Phase::Recovered => "200 OK at once".to_owned(),
        Phase::Failing => "503 Service Unavailable at once".to_owned(),
        Phase::Slow => format!(
            "200 OK after {:?}, beyond each attempt's timeout",
            scenario::SLOW_ANSWER
        ),
    }
}

fn runs(report: &Report) -> [(&'static str, &Run); 2] {
    [
        ("per_attempt", &report.per_attempt),
        ("per_call", &report.per_call),
    ]
}

/// Breaks `text` into lines of at most 88 columns.
fn wrap(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > 88 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("  {line}\n")
            }
        })
        .collect()
}
