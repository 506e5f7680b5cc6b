//! The circuit breaker: admission, outcomes, and the trip policies that decide when it opens.
//!
//! The state itself (the word, the stamp, the transitions) lives in [`cell`]; this module asks it
//! and feeds it.

mod cell;
mod permit;
mod word;

use std::fmt;
use std::time::Duration;

use crate::clock;
use crate::config::Config;
use crate::metrics::{Counters, Metrics};
use crate::policy::{Outcome, Policies, Recorded};
use crate::state::State;
use crate::{Name, Reason, Rejected};

use self::cell::{Announcement, Cell};
#[cfg(not(loom))]
pub(crate) use self::permit::unwind::Guard as PanicGuard;
pub use self::permit::{OwnedPermit, Permit};
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
    name: Name,
    config: Config,
    /// The state word, the stamp of its period, and the transitions between states.
    cell: Cell,
    /// When it opens: the trip policies it feeds with the outcomes of its closed periods.
    policies: Policies,
    counters: Counters,
    #[cfg(not(loom))]
    pub(crate) sites: std::sync::OnceLock<Box<[crate::CallSite]>>,
    /// The retry budget every call on this breaker shares (R11).
    #[cfg(not(loom))]
    budget: crate::retry::RetryBudget,
}

impl Breaker {
    crate::sync::maybe_const! {
        /// A closed breaker with this configuration, named by it. `const`, so it can initialise a
        /// `static`.
        pub fn new(config: Config) -> Breaker {
            Breaker {
                name: Name::from_static(config.name),
                cell: blank::cell(),
                policies: Policies::new(&config),
                counters: blank::counters(),
                #[cfg(not(loom))]
                sites: std::sync::OnceLock::new(),
                #[cfg(not(loom))]
                budget: blank::budget(),
                config,
            }
        }
    }

    /// The breaker of an attribute, from the values `#[circuit_breaker]` or `#[shared_breaker]`
    /// checked at compile time (see [`Config::__attribute`]): one call in the `static`'s
    /// initialiser rather than two, for the compiler to check and evaluate once per annotated fn.
    /// Not a public API.
    #[cfg(not(loom))]
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __attribute(
        name: &'static str,
        file: &'static str,
        line: u32,
        threshold: u32,
        failure_rate: u32,
        slow_ms: u64,
        slow_rate: u32,
        window: u32,
        window_ms: u64,
        min_calls: u32,
        reset_ms: u64,
        reset_max_ms: u64,
        probes: u32,
        budget: u32,
    ) -> Breaker {
        Breaker::new(Config::__attribute(
            name,
            file,
            line,
            threshold,
            failure_rate,
            slow_ms,
            slow_rate,
            window,
            window_ms,
            min_calls,
            reset_ms,
            reset_max_ms,
            probes,
            budget,
        ))
    }

    /// A closed breaker named at run time, for breakers built from configuration: `name` replaces
    /// the configuration's. Share it in an [`Arc`](std::sync::Arc) (its permits can then own
    /// their breaker, see [`acquire_owned`](Breaker::acquire_owned)), and list it in the registry
    /// with [`Registry::register`](crate::Registry::register).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker_core::{Breaker, Config};
    ///
    /// let region = String::from("eu-west"); // read from configuration
    /// let config = Config::builder("payments").threshold(3).build()?;
    /// let payments = Arc::new(Breaker::new_named(format!("payments.{region}"), config));
    /// assert_eq!(payments.name(), "payments.eu-west");
    /// # Ok::<(), breaker_core::ConfigError>(())
    /// ```
    pub fn new_named(name: impl Into<Name>, config: Config) -> Breaker {
        let mut breaker = Breaker::new(config);
        breaker.name = name.into();
        breaker
    }

    /// The registry key.
    pub fn name(&self) -> &str {
        &self.name
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
            let counts = self.policies.counts(word.generation(), clock::now());
            metrics.consecutive_failures = u64::from(counts.consecutive_failures);
            metrics.window_calls = u64::from(counts.window_calls);
            metrics.window_failures = u64::from(counts.window_failures);
            metrics.window_slow = u64::from(counts.window_slow);
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
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        let word = self.cell.load();
        if matches!(word.state(), State::Closed | State::Disabled) {
            self.counters.admitted();
            return Ok(Permit::new(self, self.ticket(word, false)));
        }
        self.try_acquire_slow(word)
    }

    /// As [`try_acquire`](Breaker::try_acquire), for a breaker in an [`Arc`](std::sync::Arc): the
    /// permit owns a reference to its breaker, so it is `'static` and can travel in a future that
    /// must be (a `tower` service's, a spawned task's).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use breaker_core::{Breaker, Config, OwnedPermit};
    ///
    /// let api = Arc::new(Breaker::new_named(String::from("api"), Config::new("api")));
    /// let permit: OwnedPermit = api.acquire_owned().expect("closed");
    /// let handle = std::thread::spawn(move || permit.success());
    /// handle.join().unwrap();
    /// assert_eq!(api.metrics().successes, 1);
    /// ```
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn acquire_owned(self: &std::sync::Arc<Self>) -> Result<OwnedPermit, Rejected> {
        let permit = self.try_acquire()?;
        Ok(OwnedPermit::new(
            std::sync::Arc::clone(self),
            permit.into_ticket(),
        ))
    }

    /// A ticket for an admission in `word`, stamped with the time only when a slow-call policy
    /// will ask how long the call took (R9: no clock read otherwise).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn ticket(&self, word: Word, probe: bool) -> Ticket {
        let ticket = Ticket::new(word.generation(), probe);
        if self.config.slow.is_some() {
            ticket.started_at(clock::now())
        } else {
            ticket
        }
    }

    #[cold]
    fn try_acquire_slow(&self, mut word: Word) -> Result<Permit<'_>, Rejected> {
        loop {
            match word.state() {
                State::Closed | State::Disabled => {
                    self.counters.admitted();
                    return Ok(Permit::new(self, self.ticket(word, false)));
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
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn on_success(&self, ticket: Ticket) {
        if let Some(consecutive) = self.policies.consecutive_only()
            && !ticket.is_probe()
            && self.cell.load().generation() == ticket.generation()
        {
            self.counters.success();
            consecutive.success(ticket.generation());
            return;
        }
        self.on_success_slow(ticket);
    }

    #[cold]
    #[inline(never)]
    fn on_success_slow(&self, ticket: Ticket) {
        self.on_outcome(ticket, false, false);
    }

    pub(crate) fn on_failure(&self, ticket: Ticket, timed_out: bool) {
        self.on_outcome(ticket, true, timed_out);
    }

    /// A success or a failure: counted, judged by the trip policies in a closed period, and
    /// deciding the round of a half-open probe.
    fn on_outcome(&self, ticket: Ticket, failure: bool, timed_out: bool) {
        let word = self.cell.load();
        if word.generation() != ticket.generation() {
            return self.counters.late();
        }
        let mut trip = None;
        if word.state() == State::Closed {
            let now = if self.config.slow.is_some() || self.policies.needs_clock() {
                clock::now()
            } else {
                0
            };
            let slow = self
                .config
                .slow
                .is_some_and(|s| ticket.elapsed(now) > clock::millis(s.threshold));
            match self
                .policies
                .record(word.generation(), Outcome { failure, slow }, now)
            {
                Recorded::Late => return self.counters.late(),
                Recorded::Counted(reason) => trip = reason,
            }
        }
        if failure {
            self.counters.failure();
            if timed_out {
                self.counters.timeout();
            }
        } else {
            self.counters.success();
        }
        if ticket.is_probe() {
            // The round is decided by successes and failures; a probe is not judged slow.
            if failure {
                self.probe_failed(word);
            } else {
                self.probe_succeeded(word);
            }
        }
        if let Some(reason) = trip {
            // Closed -> Open. Only one thread's swap from this closed generation succeeds (R7);
            // the rest find a newer word and do nothing.
            let _ = self.transition(word, word.transition(State::Open, 0), reason, clock::now());
        }
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
                breaker: self.name.clone(),
                reason,
            },
            || {
                if next.state() == State::Closed {
                    self.policies.begin_closed(next.generation());
                }
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
        Permit::new(self, self.ticket(word, true))
    }

    /// What a `per_call` call returns when its admission went stale while it waited to retry: the
    /// breaker has moved on without it. Not counted as a rejection: the call was admitted.
    #[cfg(not(loom))]
    #[cold]
    pub(crate) fn stale_rejection(&self) -> Rejected {
        Rejected::new(self.name.clone(), self.remaining_open())
    }

    #[cold]
    fn reject(&self, retry_after: Option<Duration>) -> Rejected {
        self.counters.rejected();
        Rejected::new(self.name.clone(), retry_after)
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

/// The parts of a new breaker that its configuration does not shape. Outside loom each is a `const`,
/// which the compiler evaluates once: `Breaker::new` copies it, where building it anew would be
/// interpreted again for every breaker built in a `static` (one per annotated fn, see
/// `benches/compile_time.sh`). Loom's atomics have no `const` constructor: under loom each is built.
mod blank {
    use super::Cell;
    use crate::metrics::Counters;

    #[cfg(not(loom))]
    mod consts {
        // Each is only ever copied into a new breaker, never borrowed, so the lint's concern (every
        // use of a `const` is a fresh value) is the point here.
        #![allow(clippy::declare_interior_mutable_const)]
        use super::{Cell, Counters};
        use crate::retry::RetryBudget;

        pub(super) const CELL: Cell = Cell::new();
        pub(super) const COUNTERS: Counters = Counters::new();
        pub(super) const BUDGET: RetryBudget = RetryBudget::new();
    }

    crate::sync::maybe_const! {
        pub(super) fn cell() -> Cell {
            #[cfg(not(loom))]
            return consts::CELL;
            #[cfg(loom)]
            Cell::new()
        }
    }

    crate::sync::maybe_const! {
        pub(super) fn counters() -> Counters {
            #[cfg(not(loom))]
            return consts::COUNTERS;
            #[cfg(loom)]
            Counters::new()
        }
    }

    #[cfg(not(loom))]
    pub(super) const fn budget() -> crate::retry::RetryBudget {
        consts::BUDGET
    }
}

/// Nothing to do: what a breaker owns drops as usual. The impl is for the compiler. Each `static`
/// breaker's initialiser is checked for a value whose drop cannot run at compile time, and without
/// an impl of its own rustc answers that by walking every field type of a `Breaker`, once per
/// `static`, that is once per annotated fn (`benches/compile_time.sh`); with it, at once. The
/// answer is the same (a breaker owns an `Arc` name or a `OnceLock`, whose drops are not `const`).
impl Drop for Breaker {
    fn drop(&mut self) {}
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("word", &self.cell.load())
            .field("stamp", &self.cell.stamp())
            .field("metrics", &self.counters.snapshot())
            .finish_non_exhaustive()
    }
}
