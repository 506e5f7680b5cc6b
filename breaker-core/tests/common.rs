//! Helpers shared by the test binaries (each includes this file as a module).
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use breaker_core::{Breaker, Config, Events, Reset, State, Window};

/// A consecutive-policy breaker; leaked so permits and events can outlive the test's frames.
pub fn consecutive(
    name: &'static str,
    threshold: u32,
    reset: Reset,
    probes: u32,
) -> &'static Breaker {
    let config = Config::builder(name)
        .threshold(threshold)
        .reset(reset)
        .probes(probes)
        .build();
    Box::leak(Box::new(Breaker::new(config.expect("valid config"))))
}

/// A failure-rate breaker.
pub fn rate(name: &'static str, percent: u32, window: Window, min_calls: u32) -> &'static Breaker {
    let config = Config::builder(name)
        .failure_rate(percent)
        .window(window)
        .min_calls(min_calls)
        .reset(Reset::Fixed(Duration::from_secs(30)))
        .build();
    Box::leak(Box::new(Breaker::new(config.expect("valid config"))))
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

/// Records `outcomes` one call each: `'S'` success, `'F'` failure, `'I'` ignore.
pub fn run(breaker: &Breaker, outcomes: &str) {
    for o in outcomes.chars() {
        let permit = breaker
            .try_acquire()
            .unwrap_or_else(|r| panic!("call `{o}` rejected: {r}"));
        match o {
            'S' => permit.success(),
            'F' => permit.failure(),
            'I' => permit.ignore(),
            other => panic!("unknown outcome {other}"),
        }
    }
}

/// The transitions of one breaker waiting in `events`, as (from, to) pairs.
pub fn transitions(events: &mut Events, name: &str) -> Vec<(State, State)> {
    let mut seen = Vec::new();
    while let Some(t) = events.try_recv().expect("subscriber lagged") {
        if t.breaker == name {
            seen.push((t.from, t.to));
        }
    }
    seen
}
