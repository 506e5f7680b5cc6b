//! The circuit breaker: admission, outcomes, and the trip policies that decide when it opens.
//!
//! The state itself (the word, the stamp, the transitions) lives in [`cell`]; this module asks it
//! and feeds it.

mod cell;
mod permit;
mod word;

use std::fmt;
use std::sync::PoisonError;
use std::time::Duration;

use crate::Reason;
use crate::Rejected;
use crate::clock;
use crate::config::{Config, TripPolicy};
use crate::generation::is_newer;
use crate::metrics::{Counters, Metrics};
use crate::policy::window::RateWindow;
use crate::state::State;
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};

use self::cell::{Announcement, Cell};
pub use self::permit::Permit;
#[cfg(not(loom))]
pub(crate) use self::permit::unwind::guarded;
use self::permit::{Ticket, unwind};
use self::word::Word;

/// A circuit breaker.
///
/// Usually one lives in a `static`, declared by `#[circuit_breaker]` or `#[shared_breaker]`; the
/// programmatic API below is the same one the attributes expand to.
///
/// ```
/// use breaker_core::{Breaker, Config, State};
///
/// static DB: Breaker = Breaker::new(Config::new("db")); // threshold 5, reset 30 s
///
/// for _ in 0..5 {
///     let permit = DB.try_acquire().expect("closed");
///     permit.failure();
/// }
/// assert_eq!(DB.state(), State::Open);
/// let rejected = DB.try_acquire().unwrap_err();
/// assert_eq!(rejected.breaker(), "db");
/// assert_eq!(DB.metrics().rejected, 1);
/// ```
pub struct Breaker {
    config: Config,
    /// The state word, the stamp of its period, and the transitions between states.
    cell: Cell,
    /// Consecutive policy: `(closed generation << 32) | failures in a row`. Tagging the count with
    /// its generation lets a close start from zero without a second write racing the first failure,
    /// and lets an outcome of an older generation see that it is late (R5).
    consecutive: AtomicU64,
    /// Failure-rate policy: the window (see `window.rs` for why it is behind a lock).
    window: Mutex<RateWindow>,
    counters: Counters,
    #[cfg(not(loom))]
    pub(crate) sites: std::sync::OnceLock<Box<[crate::CallSite]>>,
    /// The retry budget every call on this breaker shares (R11).
    #[cfg(not(loom))]
    budget: crate::retry::RetryBudget,
}

/// What recording an outcome into a trip policy found.
enum Recorded {
    /// Counted in the current closed period; the policy asks to open the breaker when `Some`.
    Counted(Option<Reason>),
    /// The policy's counts belong to a newer generation than the outcome's: it is late (R5).
    Late,
}

impl Breaker {
    crate::sync::maybe_const! {
        /// A closed breaker with this configuration. `const`, so it can initialise a `static`.
        pub fn new(config: Config) -> Breaker {
            Breaker {
                cell: Cell::new(),
                consecutive: AtomicU64::new(0),
                window: Mutex::new(RateWindow::new(window_of(&config))),
                counters: Counters::new(),
                #[cfg(not(loom))]
                sites: std::sync::OnceLock::new(),
                #[cfg(not(loom))]
                budget: crate::retry::RetryBudget::new(),
                config,
            }
        }
    }

    /// The registry key.
    pub fn name(&self) -> &'static str {
        self.config.name
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current state.
    ///
    /// An open breaker whose period has ended still reads `Open` until the next call asks for
    /// admission and becomes the half-open probe: state changes happen on calls, not on a timer.
    pub fn state(&self) -> State {
        self.cell.load().state()
    }

    /// A snapshot of the counts since the breaker was built or last [`reset`](Breaker::reset).
    pub fn metrics(&self) -> Metrics {
        let word = self.cell.load();
        let mut metrics = self.counters.snapshot();
        if word.state() == State::Closed {
            match self.config.policy {
                TripPolicy::Consecutive { .. } => {
                    let (generation, failures) = unpack(self.consecutive.load(Ordering::Relaxed));
                    if generation == word.generation() {
                        metrics.consecutive_failures = u64::from(failures);
                    }
                }
                TripPolicy::FailureRate { .. } => {
                    let tally = self.lock_window().tally(word.generation(), clock::now());
                    metrics.window_calls = u64::from(tally.calls);
                    metrics.window_failures = u64::from(tally.failures);
                }
            }
        }
        metrics
    }

    /// How long an open breaker stays open before its next probe (time *remaining*, not the whole
    /// period), `None` in any other state.
    pub fn remaining_open(&self) -> Option<Duration> {
        let mut word = self.cell.load();
        loop {
            if word.state() != State::Open {
                return None;
            }
            let period = self.config.reset.period(word.step());
            let now = clock::now();
            match self.cell.started(word, now) {
                Ok(at) => {
                    let ends = at.saturating_add(clock::millis(period));
                    return Some(Duration::from_millis(ends.saturating_sub(now)));
                }
                Err(newer) => word = newer,
            }
        }
    }

    /// Asks to make one call. The permit records its outcome; dropped unrecorded, it records
    /// nothing and gives back its half-open slot (a cancelled call), and dropped during a panic it
    /// records a failure (R3).
    ///
    /// ```
    /// use breaker_core::{Breaker, Config, Verdict};
    ///
    /// static SEARCH: Breaker = Breaker::new(Config::new("search"));
    ///
    /// fn search(q: &str) -> Result<Vec<String>, String> {
    ///     let permit = SEARCH.try_acquire().map_err(|r| r.to_string())?;
    ///     let result = if q.is_empty() { Err("empty query".to_owned()) } else { Ok(vec![q.to_owned()]) };
    ///     match &result {
    ///         Ok(_) => permit.success(),
    ///         Err(_) => permit.record(Verdict::Ignore), // the caller's mistake, not the service's
    ///     }
    ///     result
    /// }
    /// assert!(search("").is_err());
    /// assert_eq!(SEARCH.metrics().ignored, 1);
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let word = self.cell.load();
        if matches!(word.state(), State::Closed | State::Disabled) {
            self.counters.admitted();
            return Ok(Permit::new(self, Ticket::new(word.generation(), false)));
        }
        self.try_acquire_slow(word)
    }

    #[cold]
    fn try_acquire_slow(&self, mut word: Word) -> Result<Permit<'_>, Rejected> {
        loop {
            match word.state() {
                State::Closed | State::Disabled => {
                    self.counters.admitted();
                    return Ok(Permit::new(self, Ticket::new(word.generation(), false)));
                }
                State::ForcedOpen => return Err(self.reject(None)),
                State::Open => {
                    let period = self.config.reset.period(word.step());
                    let now = clock::now();
                    let started = match self.cell.started(word, now) {
                        Ok(started) => started,
                        Err(newer) => {
                            word = newer;
                            continue;
                        }
                    };
                    let ends = started.saturating_add(clock::millis(period));
                    if now < ends {
                        return Err(self.reject(Some(Duration::from_millis(ends - now))));
                    }
                    let next = word.transition(State::HalfOpen, word.step()).with_issued(1);
                    match self.transition(word, next, Reason::ResetElapsed, now) {
                        Ok(()) => return Ok(self.probe(next)),
                        Err(actual) => word = actual,
                    }
                }
                State::HalfOpen => {
                    // A round lasts at most one open period: after that, whatever its probes are
                    // doing, the next caller starts a new round, so a probe that hangs cannot
                    // wedge the breaker and no probe joins a round that is already stale (R6).
                    let now = clock::now();
                    let period = clock::millis(self.config.reset.period(word.step()));
                    let expired = match self.cell.started(word, now) {
                        Ok(started) => now >= started.saturating_add(period),
                        Err(newer) => {
                            word = newer;
                            continue;
                        }
                    };
                    let attempt = if expired {
                        let next = word.transition(State::HalfOpen, word.step()).with_issued(1);
                        self.transition(word, next, Reason::ProbeRoundExpired, now)
                            .map(|()| next)
                    } else if word.issued() < self.config.probes {
                        let next = word.with_issued(word.issued() + 1);
                        self.cell.cas(word, next).map(|()| next)
                    } else {
                        return Err(self.reject(None));
                    };
                    match attempt {
                        Ok(next) => return Ok(self.probe(next)),
                        Err(actual) => word = actual,
                    }
                }
            }
        }
    }

    /// Whether a call made now would be admitted, without taking a permit.
    pub fn would_admit(&self) -> bool {
        let word = self.cell.load();
        match word.state() {
            State::Closed | State::Disabled => true,
            State::HalfOpen => word.issued() < self.config.probes,
            State::ForcedOpen => false,
            State::Open => self.remaining_open() == Some(Duration::ZERO),
        }
    }

    /// Opens the breaker by hand until [`reset`](Breaker::reset). Calling it again does nothing.
    pub fn force_open(&self) {
        self.set(State::ForcedOpen, Reason::ForcedOpen);
    }

    /// Switches the breaker off until [`reset`](Breaker::reset): every call is admitted and counted,
    /// nothing opens it. Calling it again does nothing.
    pub fn disable(&self) {
        self.set(State::Disabled, Reason::Disabled);
    }

    /// Closes the breaker with empty counts, whatever its state, closed included: the trip policy
    /// forgets its failures, the half-open round and the failed rounds are dropped, and every
    /// [`Metrics`] count starts again from zero. It is a transition (one event, reason `reset`,
    /// a new generation), so calls admitted before it and settled after it are counted `late`.
    ///
    /// ```
    /// use breaker_core::{Breaker, Config, State};
    ///
    /// static DB: Breaker = Breaker::new(Config::new("db")); // threshold 5
    /// for _ in 0..4 {
    ///     DB.try_acquire().unwrap().failure();
    /// }
    /// assert_eq!(DB.metrics().consecutive_failures, 4);
    /// DB.reset();
    /// let m = DB.metrics();
    /// assert_eq!((m.consecutive_failures, m.failures, m.admitted), (0, 0, 0));
    /// assert_eq!(DB.state(), State::Closed);
    /// ```
    pub fn reset(&self) {
        self.counters.reset();
        let mut word = self.cell.load();
        loop {
            let next = word.transition(State::Closed, 0);
            match self.transition(word, next, Reason::Reset, clock::now()) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    fn set(&self, to: State, reason: Reason) {
        let mut word = self.cell.load();
        while word.state() != to {
            let next = word.transition(to, 0);
            match self.transition(word, next, reason, clock::now()) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    // ---- outcomes, called by `Permit` ----

    /// The hot path (R9): a closed breaker with the consecutive policy whose failure count is
    /// zero reads its state and count, bumps a counter only this thread writes, and stores nothing
    /// shared. Everything else is out of line.
    #[inline(always)]
    pub(crate) fn on_success(&self, ticket: Ticket) {
        if let TripPolicy::Consecutive { .. } = self.config.policy
            && !ticket.is_probe()
            && self.cell.load().generation() == ticket.generation()
        {
            self.counters.success();
            let current = self.consecutive.load(Ordering::Relaxed);
            if unpack(current).1 != 0 {
                self.clear_consecutive(current, ticket.generation());
            }
            return;
        }
        self.on_success_slow(ticket);
    }

    #[cold]
    fn clear_consecutive(&self, current: u64, generation: u32) {
        if unpack(current).0 == generation {
            // Relaxed: the count orders nothing; a lost race with a failure of the same generation
            // only means that failure's count survives, as it should. A count of another
            // generation is left alone: an older one is dead, a newer one is not ours (R5).
            let _ = self.consecutive.compare_exchange(
                current,
                pack(generation, 0),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    #[cold]
    #[inline(never)]
    fn on_success_slow(&self, ticket: Ticket) {
        let word = self.cell.load();
        if word.generation() != ticket.generation() {
            return self.counters.late();
        }
        if ticket.is_probe() {
            self.counters.success();
            return self.probe_succeeded(word);
        }
        if word.state() != State::Closed {
            // Disabled: counted, judged by nothing.
            return self.counters.success();
        }
        match self.config.policy {
            TripPolicy::Consecutive { .. } => {
                self.counters.success();
                self.clear_consecutive(self.consecutive.load(Ordering::Relaxed), word.generation());
            }
            // A success can complete `min_calls` and so reveal a rate already over the limit.
            TripPolicy::FailureRate { .. } => match self.record_rate(word, false) {
                Recorded::Late => self.counters.late(),
                Recorded::Counted(trip) => {
                    self.counters.success();
                    self.trip(word, trip);
                }
            },
        }
    }

    pub(crate) fn on_failure(&self, ticket: Ticket, timed_out: bool) {
        let word = self.cell.load();
        if word.generation() != ticket.generation() {
            return self.counters.late();
        }
        let trip = match word.state() {
            State::Closed => match self.record_failure(word) {
                Recorded::Late => return self.counters.late(),
                Recorded::Counted(trip) => trip,
            },
            _ => None,
        };
        self.counters.failure();
        if timed_out {
            self.counters.timeout();
        }
        if word.state() == State::HalfOpen && ticket.is_probe() {
            self.probe_failed(word);
        }
        self.trip(word, trip);
    }

    pub(crate) fn on_ignore(&self, ticket: Ticket) {
        if self.cell.load().generation() != ticket.generation() {
            return self.counters.late();
        }
        self.counters.ignored();
        if ticket.is_probe() {
            self.give_back(ticket.generation());
        }
    }

    /// A permit dropped without an outcome: a panic from inside the call records a failure (R3);
    /// a cancellation, or a panic that began outside the call, records nothing and gives a
    /// half-open slot back (R6).
    #[cold]
    #[inline(never)]
    pub(crate) fn on_unsettled(&self, ticket: Ticket) {
        let panicked = if ticket.is_driven() {
            unwind::take_mark()
        } else {
            std::thread::panicking()
        };
        if panicked {
            return self.on_failure(ticket, false);
        }
        self.counters.cancelled();
        if ticket.is_probe() {
            self.give_back(ticket.generation());
        }
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the retry driver, which loom leaves out
    pub(crate) fn on_retry(&self) {
        self.counters.retry();
    }

    // ---- trip policies ----

    fn record_failure(&self, word: Word) -> Recorded {
        let generation = word.generation();
        match self.config.policy {
            TripPolicy::Consecutive { threshold } => {
                let mut current = self.consecutive.load(Ordering::Relaxed);
                loop {
                    let (tagged, failures) = unpack(current);
                    if is_newer(tagged, generation) {
                        // The breaker has closed again since this outcome's admission: its count
                        // is not ours to touch (R5).
                        return Recorded::Late;
                    }
                    let failures = if tagged == generation {
                        failures.saturating_add(1)
                    } else {
                        1
                    };
                    match self.consecutive.compare_exchange_weak(
                        current,
                        pack(generation, failures),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => {
                            return Recorded::Counted(
                                (failures >= threshold)
                                    .then_some(Reason::ConsecutiveFailures { failures }),
                            );
                        }
                        Err(actual) => current = actual,
                    }
                }
            }
            TripPolicy::FailureRate { .. } => self.record_rate(word, true),
        }
    }

    fn record_rate(&self, word: Word, failure: bool) -> Recorded {
        let TripPolicy::FailureRate {
            percent, min_calls, ..
        } = self.config.policy
        else {
            return Recorded::Counted(None);
        };
        let recorded = self
            .lock_window()
            .record(word.generation(), failure, clock::now());
        match recorded {
            None => Recorded::Late,
            Some(tally) => Recorded::Counted(tally.trips(percent, min_calls).then_some(
                Reason::FailureRate {
                    failures: tally.failures,
                    calls: tally.calls,
                },
            )),
        }
    }

    /// Closed -> Open, when a policy asked for it. Only one thread's swap from this closed
    /// generation succeeds (R7); the rest find a newer word and do nothing.
    fn trip(&self, word: Word, reason: Option<Reason>) {
        if let Some(reason) = reason {
            let _ = self.transition(word, word.transition(State::Open, 0), reason, clock::now());
        }
    }

    fn probe_succeeded(&self, mut word: Word) {
        let generation = word.generation();
        while word.generation() == generation && word.state() == State::HalfOpen {
            let successes = word.successes() + 1;
            let result = if successes >= self.config.probes {
                // A close forgets the failed rounds: the next opening starts at `reset`'s minimum.
                self.transition(
                    word,
                    word.transition(State::Closed, 0),
                    Reason::ProbesSucceeded,
                    clock::now(),
                )
            } else {
                self.cell.cas(word, word.with_successes(successes))
            };
            match result {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    fn probe_failed(&self, mut word: Word) {
        let generation = word.generation();
        while word.generation() == generation && word.state() == State::HalfOpen {
            let next = word.transition(State::Open, word.step().saturating_add(1));
            match self.transition(word, next, Reason::ProbeFailed, clock::now()) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Returns a half-open slot of `generation`, if that round is still running.
    fn give_back(&self, generation: u32) {
        let mut word = self.cell.load();
        while word.generation() == generation
            && word.state() == State::HalfOpen
            && word.issued() > 0
        {
            match self.cell.cas(word, word.with_issued(word.issued() - 1)) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// A transition of the cell, announced under this breaker's name.
    fn transition(
        &self,
        current: Word,
        next: Word,
        reason: Reason,
        started: clock::Millis,
    ) -> Result<(), Word> {
        self.cell.transition(
            current,
            next,
            started,
            Announcement {
                breaker: self.config.name,
                reason,
            },
        )
    }

    /// Opens the breaker for `remaining` (at most one period of step `failed_rounds`), as a
    /// restored snapshot says.
    #[cfg(not(loom))]
    pub(crate) fn restore_open(&self, remaining: Duration, failed_rounds: u32) {
        let period = self.config.reset.period(failed_rounds);
        let remaining = remaining.min(period);
        let now = clock::now();
        // A period that began `period - remaining` ago ends `remaining` from now.
        let started = now.saturating_sub(clock::millis(period - remaining));
        let mut word = self.cell.load();
        loop {
            let next = word.transition(State::Open, failed_rounds);
            match self.transition(word, next, Reason::Restored, started) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// The state, and the failed half-open rounds since the last close.
    #[cfg(not(loom))]
    pub(crate) fn state_and_failed_rounds(&self) -> (State, u32) {
        let word = self.cell.load();
        (word.state(), word.step())
    }

    fn probe(&self, word: Word) -> Permit<'_> {
        self.counters.admitted();
        Permit::new(self, Ticket::new(word.generation(), true))
    }

    /// What a `per_call` call returns when its admission went stale while it waited to retry: the
    /// breaker has moved on without it. Not counted as a rejection: the call was admitted.
    #[cfg(not(loom))]
    #[cold]
    pub(crate) fn stale_rejection(&self) -> Rejected {
        Rejected::new(self.config.name, self.remaining_open())
    }

    #[cold]
    fn reject(&self, retry_after: Option<Duration>) -> Rejected {
        self.counters.rejected();
        Rejected::new(self.config.name, retry_after)
    }

    fn lock_window(&self) -> MutexGuard<'_, RateWindow> {
        // Nothing panics while holding the lock, but a poisoned window is still a valid window.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The retry budget its calls share, and the counts it reads and adds to (R11, R12).
    #[cfg(not(loom))]
    pub(crate) fn budget(&self) -> (&crate::retry::RetryBudget, &Counters) {
        (&self.budget, &self.counters)
    }

    /// The generation of the current state; a test hook for models that count transitions.
    #[doc(hidden)]
    pub fn __generation(&self) -> u32 {
        self.cell.load().generation()
    }
}

const fn window_of(config: &Config) -> crate::config::Window {
    match config.policy {
        TripPolicy::FailureRate { window, .. } => window,
        // Never used: a consecutive breaker never records into a window.
        TripPolicy::Consecutive { .. } => crate::config::Window::Count(1),
    }
}

const fn pack(generation: u32, failures: u32) -> u64 {
    ((generation as u64) << 32) | failures as u64
}

const fn unpack(bits: u64) -> (u32, u32) {
    ((bits >> 32) as u32, bits as u32)
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.config.name)
            .field("word", &self.cell.load())
            .field("stamp", &self.cell.stamp())
            .field("metrics", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}
