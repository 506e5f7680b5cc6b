//! State transitions, as events: to `tracing`, and to every [`Events`] subscriber.
//!
//! One transition, one event (R7): only the thread whose compare-and-swap moved the state word
//! announces it, and a breaker's transitions are handed to subscribers in the order of the
//! generations they created, which each event carries. Subscribers share one bounded broadcast
//! ring, so a transition never waits for a reader; a reader that falls more than [`CAPACITY`]
//! events behind loses the oldest and is told how many. Per-call outcomes are not events: they are
//! counted in [`Metrics`](crate::Metrics), which keeps the call path free of any channel.

use std::fmt;
use std::time::SystemTime;

use crate::{Name, Reason, State};

/// How many transitions a subscriber may fall behind before it loses the oldest.
pub const CAPACITY: usize = 1024;

/// One state transition of one breaker.
///
/// One breaker's transitions reach every subscriber in the order they happened: each one's
/// [`generation`](Transition::generation) is the previous one's plus one (wrapping), and its
/// `from` is the previous one's `to`, unless the subscriber lagged and lost some in between.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// The breaker's name.
    pub breaker: Name,
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
    /// The generation this transition created: the breaker's count of transitions, wrapping.
    /// Permits admitted from now on carry it; an outcome of an older generation is `late`.
    pub generation: u32,
}

impl Transition {
    pub(crate) fn new(
        breaker: Name,
        from: State,
        to: State,
        reason: Reason,
        generation: u32,
    ) -> Transition {
        Transition {
            breaker,
            from,
            to,
            // Read when the transition is made (under its lock), so `at` is exact and ordered.
            at: tokio::time::Instant::now(),
            wall: SystemTime::now(),
            reason,
            generation,
        }
    }
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

/// Hands a transition to the subscribers. Called once per transition, by its winner only, under
/// the breaker's transition lock, so one breaker's events enter the ring in generation order.
pub(crate) fn send(transition: &Transition) {
    // With no subscriber `send` fails; that is not an error here.
    let _ = bus().send(transition.clone());
}

/// Logs a transition to `tracing`: WARN when a breaker opens, INFO otherwise.
pub(crate) fn trace(transition: &Transition) {
    let Transition {
        ref breaker,
        from,
        to,
        reason,
        generation,
        ..
    } = *transition;
    let breaker = breaker.as_str();
    if to == State::Open {
        tracing::warn!(
            target: "breakerbox",
            breaker,
            from = from.as_str(),
            to = to.as_str(),
            reason = reason.as_str(),
            generation,
            "circuit breaker opened: {reason}"
        );
    } else {
        tracing::info!(
            target: "breakerbox",
            breaker,
            from = from.as_str(),
            to = to.as_str(),
            reason = reason.as_str(),
            generation,
            "circuit breaker {}: {reason}",
            to.as_str()
        );
    }
}
