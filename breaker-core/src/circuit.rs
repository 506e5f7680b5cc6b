//! The circuit breaker: admission, outcomes and transitions.

use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::Reason;
use crate::Rejected;
use crate::clock::{self, Millis, Stamp};
use crate::config::{Config, TripPolicy};
use crate::metrics::{Counters, Metrics};
use crate::permit::{Permit, Ticket};
use crate::state::{State, Word};
use crate::sync::{AtomicU64, Ordering};
use crate::window::RateWindow;

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
    /// The packed [`Word`]. Every transition is one compare-and-swap on it, so it has one winner.
    word: AtomicU64,
    /// When the current open period or half-open round began ([`Stamp`]); written by the winner of
    /// the transition that began it, after the word.
    stamp: AtomicU64,
    /// Consecutive policy: `(closed generation << 32) | failures in a row`. Tagging the count with
    /// its generation lets a close start from zero without a second write racing the first failure.
    consecutive: AtomicU64,
    /// Failure-rate policy: the window (see `window.rs` for why it is behind a lock).
    window: Mutex<RateWindow>,
    counters: Counters,
    #[cfg(not(loom))]
    pub(crate) sites: std::sync::OnceLock<Box<[crate::CallSite]>>,
}

impl Breaker {
    crate::sync::maybe_const! {
        /// A closed breaker with this configuration. `const`, so it can initialise a `static`.
        pub fn new(config: Config) -> Breaker {
            Breaker {
                word: AtomicU64::new(Word::INITIAL.bits()),
                stamp: AtomicU64::new(Stamp::UNSET.bits()),
                consecutive: AtomicU64::new(0),
                window: Mutex::new(RateWindow::new(window_of(&config))),
                counters: Counters::new(),
                #[cfg(not(loom))]
                sites: std::sync::OnceLock::new(),
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
        self.load().state()
    }

    /// A snapshot of the counts.
    pub fn metrics(&self) -> Metrics {
        let word = self.load();
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
                    let tally = self.lock_window().tally(word.generation());
                    metrics.window_calls = u64::from(tally.calls);
                    metrics.window_failures = u64::from(tally.failures);
                }
            }
        }
        metrics
    }

    /// How long an open breaker stays open before its next probe, `None` in any other state.
    pub fn remaining_open(&self) -> Option<Duration> {
        let word = self.load();
        if word.state() != State::Open {
            return None;
        }
        let period = self.config.reset.period(word.step());
        Some(match self.started(word) {
            Ok(Some(at)) => Duration::from_millis(
                (at.saturating_add(clock::millis(period))).saturating_sub(clock::now()),
            ),
            // Just opened (stamp not yet published), or already moved on: a full period is the
            // honest upper bound.
            Ok(None) | Err(_) => period,
        })
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
        // Acquire pairs with the AcqRel compare-and-swap of each transition, so a thread admitted in
        // generation g sees everything the winner of g wrote before publishing it.
        let word = self.load();
        if matches!(word.state(), State::Closed | State::Disabled) {
            let slot = self.counters.admitted();
            return Ok(Permit::new(
                self,
                Ticket::new(word.generation(), false, slot),
            ));
        }
        self.try_acquire_slow(word)
    }

    #[cold]
    fn try_acquire_slow(&self, mut word: Word) -> Result<Permit<'_>, Rejected> {
        loop {
            match word.state() {
                State::Closed | State::Disabled => {
                    let slot = self.counters.admitted();
                    return Ok(Permit::new(
                        self,
                        Ticket::new(word.generation(), false, slot),
                    ));
                }
                State::ForcedOpen => return Err(self.reject(None)),
                State::Open => {
                    let period = self.config.reset.period(word.step());
                    let now = clock::now();
                    let started = match self.started(word) {
                        Ok(Some(started)) => started,
                        Ok(None) => return Err(self.reject(Some(period))),
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
                    match self.swap(word, next, Reason::ResetElapsed, now) {
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
                    let expired = match self.started(word) {
                        Ok(started) => started.is_some_and(|at| now >= at.saturating_add(period)),
                        Err(newer) => {
                            word = newer;
                            continue;
                        }
                    };
                    let attempt = if expired {
                        let next = word.transition(State::HalfOpen, word.step()).with_issued(1);
                        self.swap(word, next, Reason::ProbeRoundExpired, now)
                            .map(|()| next)
                    } else if word.issued() < self.config.probes {
                        let next = word.with_issued(word.issued() + 1);
                        self.cas(word, next).map(|()| next)
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

    /// Whether a call made now would be admitted, without taking a permit. The retry driver asks
    /// this before sleeping, so a loop stops at once when the breaker it feeds has opened (R1).
    pub fn would_admit(&self) -> bool {
        let word = self.load();
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

    /// Closes the breaker with empty counts, whatever its state. On a closed breaker it does
    /// nothing.
    pub fn reset(&self) {
        self.set(State::Closed, Reason::Reset);
    }

    fn set(&self, to: State, reason: Reason) {
        let mut word = self.load();
        while word.state() != to {
            let next = word.transition(to, 0);
            match self.swap(word, next, reason, clock::now()) {
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
            && self.load().generation() == ticket.generation()
        {
            self.counters.success(ticket.slot());
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
            // only means that failure's count survives, as it should.
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
        let word = self.load();
        if word.generation() != ticket.generation() {
            return self.counters.late();
        }
        self.counters.success(ticket.slot());
        if ticket.is_probe() {
            return self.probe_succeeded(word);
        }
        match self.config.policy {
            TripPolicy::Consecutive { .. } => {
                self.clear_consecutive(self.consecutive.load(Ordering::Relaxed), word.generation());
            }
            // A success can complete `min_calls` and so reveal a rate already over the limit.
            TripPolicy::FailureRate { .. } if word.state() == State::Closed => {
                self.record_rate(word, false);
            }
            TripPolicy::FailureRate { .. } => {}
        }
    }

    pub(crate) fn on_failure(&self, ticket: Ticket, timed_out: bool) {
        let word = self.load();
        if word.generation() != ticket.generation() {
            return self.counters.late();
        }
        self.counters.failure();
        if timed_out {
            self.counters.timeout();
        }
        match word.state() {
            State::HalfOpen if ticket.is_probe() => self.probe_failed(word),
            State::Closed => self.closed_failure(word),
            _ => {}
        }
    }

    pub(crate) fn on_ignore(&self, ticket: Ticket) {
        if self.load().generation() != ticket.generation() {
            return self.counters.late();
        }
        self.counters.ignored();
        if ticket.is_probe() {
            self.give_back(ticket.generation());
        }
    }

    /// A permit dropped without an outcome: a panic records a failure (R3), a cancellation gives a
    /// half-open slot back and records nothing (R6).
    #[cold]
    #[inline(never)]
    pub(crate) fn on_unsettled(&self, ticket: Ticket) {
        if std::thread::panicking() {
            self.on_failure(ticket, false);
        } else if ticket.is_probe() {
            self.give_back(ticket.generation());
        }
    }

    pub(crate) fn on_retry(&self) {
        self.counters.retry();
    }

    fn closed_failure(&self, word: Word) {
        let generation = word.generation();
        match self.config.policy {
            TripPolicy::Consecutive { threshold } => {
                let mut current = self.consecutive.load(Ordering::Relaxed);
                let failures = loop {
                    let (tagged, failures) = unpack(current);
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
                        Ok(_) => break failures,
                        Err(actual) => current = actual,
                    }
                };
                if failures >= threshold {
                    self.trip(word, Reason::ConsecutiveFailures { failures });
                }
            }
            TripPolicy::FailureRate { .. } => self.record_rate(word, true),
        }
    }

    fn record_rate(&self, word: Word, failure: bool) {
        let TripPolicy::FailureRate {
            percent, min_calls, ..
        } = self.config.policy
        else {
            return;
        };
        let tally = self.lock_window().record(word.generation(), failure);
        if tally.trips(percent, min_calls) {
            self.trip(
                word,
                Reason::FailureRate {
                    failures: tally.failures,
                    calls: tally.calls,
                },
            );
        }
    }

    /// Closed -> Open. Only one thread's swap from this closed generation succeeds (R7); the rest
    /// find a newer word and do nothing.
    fn trip(&self, word: Word, reason: Reason) {
        let _ = self.swap(word, word.transition(State::Open, 0), reason, clock::now());
    }

    fn probe_succeeded(&self, mut word: Word) {
        let generation = word.generation();
        while word.generation() == generation && word.state() == State::HalfOpen {
            let successes = word.successes() + 1;
            let result = if successes >= self.config.probes {
                // A close forgets the failed rounds: the next opening starts at `reset`'s minimum.
                self.swap(
                    word,
                    word.transition(State::Closed, 0),
                    Reason::ProbesSucceeded,
                    clock::now(),
                )
            } else {
                self.cas(word, word.with_successes(successes))
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
            match self.swap(word, next, Reason::ProbeFailed, clock::now()) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Returns a half-open slot of `generation`, if that round is still running.
    fn give_back(&self, generation: u32) {
        let mut word = self.load();
        while word.generation() == generation
            && word.state() == State::HalfOpen
            && word.issued() > 0
        {
            match self.cas(word, word.with_issued(word.issued() - 1)) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    // ---- the word ----

    #[inline]
    fn load(&self) -> Word {
        Word::from_bits(self.word.load(Ordering::Acquire))
    }

    /// A change within one generation (a half-open slot taken or returned, a success counted).
    fn cas(&self, current: Word, next: Word) -> Result<(), Word> {
        // AcqRel: Acquire to see the state the current word stands for; Release so the next reader
        // of this word sees ours.
        self.word
            .compare_exchange(
                current.bits(),
                next.bits(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(drop)
            .map_err(Word::from_bits)
    }

    /// A transition: the one thread whose swap succeeds stamps the new period and announces it.
    fn swap(&self, current: Word, next: Word, reason: Reason, now: Millis) -> Result<(), Word> {
        self.swap_stamped(current, next, reason, now)
    }

    /// A transition whose period began at `started` rather than now (a restored open period).
    fn swap_stamped(
        &self,
        current: Word,
        next: Word,
        reason: Reason,
        started: Millis,
    ) -> Result<(), Word> {
        self.cas(current, next)?;
        if matches!(next.state(), State::Open | State::HalfOpen) {
            // Release pairs with the Acquire in `started`: a reader that sees this stamp sees the
            // period it starts.
            self.stamp.store(
                Stamp::new(next.generation(), started).bits(),
                Ordering::Release,
            );
        }
        announce(self, current.state(), next.state(), reason);
        Ok(())
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
        let mut word = self.load();
        loop {
            let next = word.transition(State::Open, failed_rounds);
            match self.swap_stamped(word, next, Reason::Restored, started) {
                Ok(()) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// The state, and the failed half-open rounds since the last close.
    #[cfg(not(loom))]
    pub(crate) fn state_and_failed_rounds(&self) -> (State, u32) {
        let word = self.load();
        (word.state(), word.step())
    }

    /// When the period of `word` began: `Ok(None)` while its winner has not published the stamp
    /// yet (the period has only just begun), `Err(newer)` when the stamp belongs to a newer word,
    /// which means `word` was stale and the caller must look again.
    fn started(&self, word: Word) -> Result<Option<Millis>, Word> {
        let stamp = Stamp::from_bits(self.stamp.load(Ordering::Acquire));
        if let Some(at) = stamp.at(word.generation()) {
            return Ok(Some(at));
        }
        // The stamp is stored after the word's swap, so having read a newer stamp (Acquire), this
        // load sees at least the word that stamp belongs to.
        let current = self.load();
        if current == word {
            Ok(None)
        } else {
            Err(current)
        }
    }

    fn probe(&self, word: Word) -> Permit<'_> {
        let slot = self.counters.admitted();
        Permit::new(self, Ticket::new(word.generation(), true, slot))
    }

    #[cold]
    fn reject(&self, retry_after: Option<Duration>) -> Rejected {
        self.counters.rejected();
        Rejected::new(self.config.name, retry_after)
    }

    fn lock_window(&self) -> std::sync::MutexGuard<'_, RateWindow> {
        // Nothing panics while holding the lock, but a poisoned window is still a valid window.
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generation of the current state; a test hook for models that count transitions.
    #[doc(hidden)]
    pub fn __generation(&self) -> u32 {
        self.load().generation()
    }
}

#[cfg(not(loom))]
fn announce(breaker: &Breaker, from: State, to: State, reason: Reason) {
    crate::events::announce(crate::events::Transition {
        breaker: breaker.name(),
        from,
        to,
        // The event's own reading, not the millisecond stamp, so `at` is exact.
        at: tokio::time::Instant::now(),
        wall: std::time::SystemTime::now(),
        reason,
    });
}

#[cfg(loom)]
fn announce(_: &Breaker, _: State, _: State, _: Reason) {}

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
            .field("word", &self.load())
            .field(
                "stamp",
                &Stamp::from_bits(self.stamp.load(Ordering::Relaxed)),
            )
            .field("metrics", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}
