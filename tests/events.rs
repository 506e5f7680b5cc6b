//! `subscribe()`: one event per transition, and a subscriber that never reads costs callers
//! nothing. (Its own test binary, so no other test's transitions reach these subscribers.)

use breakerbox::{EVENTS_CAPACITY, Lagged, Reason, Rejected, State, circuit_breaker, registry};

#[derive(Debug, PartialEq)]
pub enum Error {
    Down,
    Rejected,
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

#[circuit_breaker(name = "events.flaky", threshold = 2, reset = "1s")]
async fn flaky(fail: bool) -> Result<(), Error> {
    if fail { Err(Error::Down) } else { Ok(()) }
}

#[circuit_breaker(name = "events.toggled")]
fn toggled() -> Result<(), Error> {
    Ok(())
}

/// Subscribers see every breaker's transitions: the two tests take turns, so neither sees the
/// other's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[tokio::test(start_paused = true)]
// The guard only orders this test against the other one, which takes it on its own thread; the
// current-thread runtime awaits nothing that needs the lock.
#[allow(clippy::await_holding_lock)]
async fn one_event_per_transition_with_its_reason() {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut events = registry().subscribe();
    let b = registry().get("events.flaky").unwrap();
    for _ in 0..4 {
        // The third and fourth calls are rejected: no transition, no event.
        let _ = flaky(true).await;
    }
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    flaky(false).await.unwrap();
    assert_eq!(b.state(), State::Closed);
    let mut seen = Vec::new();
    while let Some(t) = events.try_recv().unwrap() {
        assert_eq!(t.breaker, "events.flaky");
        seen.push((t.from, t.to, t.reason));
    }
    assert_eq!(
        seen,
        [
            (
                State::Closed,
                State::Open,
                Reason::ConsecutiveFailures { failures: 2 }
            ),
            (State::Open, State::HalfOpen, Reason::ResetElapsed),
            (State::HalfOpen, State::Closed, Reason::ProbesSucceeded),
        ]
    );
    assert_eq!(b.metrics().rejected, 2);
}

#[test]
fn a_subscriber_that_never_reads_loses_the_oldest_and_is_told_how_many() {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut idle = registry().subscribe();
    let b = registry().get("events.toggled").unwrap();
    let transitions = 3 * EVENTS_CAPACITY;
    for i in 0..transitions {
        if i % 2 == 0 {
            b.force_open()
        } else {
            b.reset()
        }
        // Calls keep working at full speed beside the full ring.
        let expected = if i % 2 == 0 {
            Err(Error::Rejected)
        } else {
            Ok(())
        };
        assert_eq!(toggled(), expected);
    }
    assert_eq!(
        idle.try_recv(),
        Err(Lagged((transitions - EVENTS_CAPACITY) as u64))
    );
    // Then the newest CAPACITY transitions, in order.
    let mut kept = 0;
    while let Some(t) = idle.try_recv().unwrap() {
        assert_eq!(t.breaker, "events.toggled");
        kept += 1;
    }
    assert_eq!(kept, EVENTS_CAPACITY);
}
