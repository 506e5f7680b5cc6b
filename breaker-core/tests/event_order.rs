//! One breaker's transitions reach subscribers in the order they happened (R7). Its own test binary:
//! it makes thousands of transitions, which would make the other binaries' subscribers lag.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;

use breaker_core::{Reset, registry};
use common::*;

/// Manual control racing failing calls on four threads: every transition of the breaker reaches a
/// subscriber in the order it happened, each one's `from` the previous one's `to` and its generation
/// the previous one's plus one (R7). Transitions used to be announced after their swap, unordered,
/// so about one run in three showed a transition out of order.
#[test]
fn one_breakers_events_arrive_in_generation_order() {
    let b = consecutive("cc.order", 2, Reset::Fixed(secs(3600)), 1);
    for round in 0..20 {
        let mut events = registry().subscribe();
        let first = b.__generation();
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let barrier = Arc::clone(&barrier);
                thread::spawn(move || {
                    barrier.wait();
                    for i in 0..100 {
                        match (t + i) % 4 {
                            0 => b.force_open(),
                            1 => b.disable(),
                            2 => b.reset(),
                            _ => {
                                if let Ok(p) = b.try_acquire() {
                                    p.failure();
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let mut seen = Vec::new();
        while let Some(t) = events.try_recv().expect("at most 300 events: no lag") {
            if t.breaker == "cc.order" {
                seen.push(t);
            }
        }
        let last = b.__generation();
        assert_eq!(
            seen.len() as u32,
            last.wrapping_sub(first),
            "round {round}: one event per transition"
        );
        for (i, pair) in seen.windows(2).enumerate() {
            assert_eq!(pair[0].to, pair[1].from, "round {round}, event {i}");
            assert_eq!(
                pair[0].generation.wrapping_add(1),
                pair[1].generation,
                "round {round}, event {i}"
            );
        }
        assert_eq!(
            seen.first().map(|t| t.generation),
            Some(first.wrapping_add(1))
        );
        assert_eq!(
            seen.last().map(|t| (t.generation, t.to)),
            Some((last, b.state()))
        );
    }
}
