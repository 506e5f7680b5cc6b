//! State transitions, as events: to `tracing`, and to every [`Events`] subscriber.
//!
//! One transition, one event (R7): only the thread whose compare-and-swap moved the state word
//! announces it. Subscribers share one bounded broadcast ring, so a transition never waits for a
//! reader; a reader that falls more than [`CAPACITY`] events behind loses the oldest and is told how
//! many. Per-call outcomes are not events: they are counted in [`Metrics`](crate::Metrics), which
//! keeps the call path free of any channel.

use std::fmt;
use std::time::SystemTime;

use crate::{Reason, State};

/// How many transitions a subscriber may fall behind before it loses the oldest.
pub const CAPACITY: usize = 1024;

/// One state transition of one breaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The breaker's name.
    pub breaker: &'static str,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// When, on the monotonic clock that drives the breaker (paused in tests).
    pub at: tokio::time::Instant,
    /// When, on the wall clock.
    pub wall: SystemTime,
    /// Why.
    pub reason: Reason,
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} -> {} ({})",
            self.breaker, self.from, self.to, self.reason
        )
    }
}

/// A subscription to every state transition of every breaker, from [`Registry::subscribe`].
///
/// [`Registry::subscribe`]: crate::Registry::subscribe
pub struct Events {
    rx: tokio::sync::broadcast::Receiver<Transition>,
}

/// Transitions a lagging subscriber lost: it fell more than [`CAPACITY`] behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged(pub u64);

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscriber fell behind and lost {} transitions", self.0)
    }
}

impl std::error::Error for Lagged {}

impl Events {
    /// Waits for the next transition. `Err(Lagged(n))` says `n` transitions were lost because this
    /// subscriber fell behind; the next call returns the oldest one still held.
    pub async fn recv(&mut self) -> Result<Transition, Lagged> {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match self.rx.recv().await {
                Ok(t) => return Ok(t),
                Err(RecvError::Lagged(n)) => return Err(Lagged(n)),
                // The sender lives in a static and is never dropped.
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    /// The next transition if one is waiting: `Ok(None)` when there is none.
    pub fn try_recv(&mut self) -> Result<Option<Transition>, Lagged> {
        use tokio::sync::broadcast::error::TryRecvError;
        match self.rx.try_recv() {
            Ok(t) => Ok(Some(t)),
            Err(TryRecvError::Lagged(n)) => Err(Lagged(n)),
            Err(TryRecvError::Empty | TryRecvError::Closed) => Ok(None),
        }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("pending", &self.rx.len())
            .finish()
    }
}

fn bus() -> &'static tokio::sync::broadcast::Sender<Transition> {
    static BUS: std::sync::OnceLock<tokio::sync::broadcast::Sender<Transition>> =
        std::sync::OnceLock::new();
    BUS.get_or_init(|| tokio::sync::broadcast::channel(CAPACITY).0)
}

pub(crate) fn subscribe() -> Events {
    Events {
        rx: bus().subscribe(),
    }
}

/// Sends a transition to `tracing` and to the subscribers. Called once per transition, by its
/// winner only.
pub(crate) fn announce(transition: Transition) {
    let Transition {
        breaker,
        from,
        to,
        reason,
        ..
    } = transition;
    if to == State::Open {
        tracing::warn!(
            target: "breakerbox",
            breaker,
            from = from.as_str(),
            to = to.as_str(),
            reason = reason.as_str(),
            "circuit breaker opened: {reason}"
        );
    } else {
        tracing::info!(
            target: "breakerbox",
            breaker,
            from = from.as_str(),
            to = to.as_str(),
            reason = reason.as_str(),
            "circuit breaker {}: {reason}",
            to.as_str()
        );
    }
    // With no subscriber `send` fails; that is not an error here.
    let _ = bus().send(transition);
}
