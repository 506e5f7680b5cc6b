//! The retry driver: one call, its attempts, and what the breaker is told about them.
//!
//! [`Call`] is a small state machine that the generated code (and [`CallPolicy::run`] /
//! [`CallPolicy::run_blocking`]) drive in a plain loop: `admit`, run the attempt, `settle`, sleep if
//! told to. Keeping the loop in the caller means no boxed future, no closure that must lend its
//! arguments to a future, and no allocation per call or per attempt.
//!
//! Two bounds beyond one call live here too: the retry budget of the breaker (R11, asked in
//! `settle_error` before the wait, see [`budget`](super::budget)), and the nesting scope (R12,
//! read once when the call starts, see [`nesting`](super::nesting)).

use std::future::Future;
use std::time::Duration;

use super::budget::{self, Answer};
use super::nesting::{self, AttemptScope, NestingScope};
use crate::{
    Breaker, CallPolicy, CallSite, Granularity, Injectable, Permit, Rejected, TimedOut, Verdict,
};

/// What to do after an attempt.
#[derive(Debug)]
#[must_use]
pub enum Next<T, E> {
    /// The call is over: return this.
    Return(Result<T, E>),
    /// Sleep this long, then `admit` the next attempt.
    Retry(Duration),
}

/// One call in progress under a breaker and a [`CallPolicy`].
///
/// It holds no error between attempts: an error that decides the call is returned at once, and the
/// next attempt's admission is asked for before the wait, not after it (R1), so a call whose
/// breaker refuses its next attempt ends without sleeping, and a future holding a `Call` across its
/// backoff is `Send` whatever the error type.
///
/// Dropping it mid-call (a cancelled future, a panic unwinding) drops the permit it holds, which
/// gives a half-open slot back or, for a panic from inside the attempt, records a failure.
///
/// A call that starts inside an attempt of another retrying call (on the same thread, in the same
/// task) makes a single attempt unless its policy says [`Nested::Retry`](crate::Nested::Retry)
/// (R12); a call that may retry opens such a scope around each of its attempts
/// ([`Call::span`]).
#[derive(Debug)]
pub struct Call<'b> {
    breaker: &'b Breaker,
    policy: &'b CallPolicy,
    /// The fn making the call: what nesting edges name (a placeholder when not known).
    site: &'static CallSite,
    /// Attempts started so far.
    attempt: u32,
    /// Attempts this call may make: its policy's, or 1 nested (R12).
    attempts: u32,
    /// The admission of the attempt running or about to run.
    permit: Option<Permit<'b>>,
}

impl<'b> Call<'b> {
    /// Starts a call under `breaker` with `policy`. Nested in another call's attempt it follows
    /// R12, but no nesting edge names it: see [`Call::at`].
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn new(breaker: &'b Breaker, policy: &'b CallPolicy) -> Call<'b> {
        Call::start(breaker, policy, None)
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn start(
        breaker: &'b Breaker,
        policy: &'b CallPolicy,
        site: Option<&'static CallSite>,
    ) -> Call<'b> {
        let site = nesting::site(site);
        let attempts = nesting::start(site, policy);
        Call {
            breaker,
            policy,
            site,
            attempt: 0,
            attempts,
            permit: None,
        }
    }

    /// Asks for the next attempt. `Err` carries what the call returns instead: the rejection,
    /// when the breaker refuses the first attempt (R4), or when a `per_call` admission went stale
    /// while the call waited to retry (R2).
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn admit<E: From<Rejected>>(&mut self) -> Result<(), E> {
        match &self.permit {
            None => {
                let permit = self.breaker.try_acquire()?.driven();
                self.permit = Some(permit);
            }
            Some(permit)
                if self.policy.granularity() == Granularity::PerCall && !permit.is_current() =>
            {
                // The breaker left the state this call was admitted in while it waited: no
                // further attempt (R2, R5). The wait's last error is gone, so the call says what
                // stopped it. (A `per_attempt` call's next attempt was admitted before the wait
                // and runs; its outcome is late.)
                if let Some(permit) = self.permit.take() {
                    permit.failure();
                }
                return Err(self.breaker.stale_rejection().into());
            }
            Some(_) => {}
        }
        self.attempt += 1;
        if self.attempt > 1 {
            self.breaker.on_retry();
        }
        Ok(())
    }

    /// The attempt number now running, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempts this call may make: its policy's, or 1 when it runs nested inside another
    /// retrying call's attempt and its policy says [`Nested::Single`](crate::Nested::Single).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether the attempt now running is the call's last, whatever its outcome: the generated code
    /// hands it the original arguments instead of clones.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn is_last(&self) -> bool {
        self.attempt >= self.attempts || self.is_probe_per_call()
    }

    fn is_probe_per_call(&self) -> bool {
        self.policy.granularity() == Granularity::PerCall
            && self.permit.as_ref().is_some_and(Permit::is_probe)
    }

    /// The scope this call's attempts open for the annotated fns they call: the call's own, when
    /// it may retry.
    fn nesting(&self) -> Option<NestingScope> {
        NestingScope::of(self.site, self.attempts)
    }

    /// Settles the attempt's result.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn settle<T, E>(
        &mut self,
        result: Result<T, E>,
        classify: fn(&E) -> Verdict,
    ) -> Next<T, E> {
        match result {
            Ok(value) => {
                self.succeeded();
                Next::Return(Ok(value))
            }
            Err(error) => {
                let verdict = classify(&error);
                self.settle_error(error, verdict, false)
            }
        }
    }

    /// Records a successful attempt; compiled once, not once per result type.
    #[cfg_attr(not(debug_assertions), inline)]
    fn succeeded(&mut self) {
        if self.attempt > 1 {
            // Before the success is recorded: the budget must never take it for a first attempt.
            budget::on_retried_success(self.breaker);
        }
        if let Some(permit) = self.permit.take() {
            permit.success();
        }
    }

    /// Settles an attempt that missed its timeout: a `Transient` failure (R3).
    pub fn settle_timeout<T, E: From<TimedOut>>(&mut self, after: Duration) -> Next<T, E> {
        self.settle_timed_out(TimedOut::new(after).into())
    }

    /// Settles an attempt that missed its timeout with the fn's own error for it (what
    /// [`Step`](super::step::Step) does): a `Transient` failure (R3).
    pub(super) fn settle_timed_out<T, E>(&mut self, error: E) -> Next<T, E> {
        self.settle_error(error, Verdict::Transient, true)
    }

    /// The deadline of each attempt of this call, if its policy sets one.
    pub(super) fn timeout(&self) -> Option<Duration> {
        self.policy.timeout()
    }

    /// Settles a failed attempt with the call's `error`, which the call returns if it is over. The
    /// decision is [`decide`](Call::decide)'s, compiled once: this is all that is compiled per
    /// error type.
    fn settle_error<T, E>(&mut self, error: E, verdict: Verdict, timed_out: bool) -> Next<T, E> {
        match self.decide(verdict, timed_out) {
            Some(wait) => Next::Retry(wait),
            None => Next::Return(Err(error)),
        }
    }

    /// What follows a failed attempt with this `verdict`: the wait before the next attempt, or
    /// `None` when the call is over.
    #[cfg_attr(not(debug_assertions), inline)]
    fn decide(&mut self, verdict: Verdict, timed_out: bool) -> Option<Duration> {
        let mut retry = verdict == Verdict::Transient && !self.is_last();
        if verdict == Verdict::Transient && !retry && self.attempts < self.policy.attempts() {
            self.nested_single();
        }
        let permit = self.permit.take();
        let granularity = self.policy.granularity();
        // A `per_call` admission that has gone stale makes no further attempt (R2); the failure
        // below is counted late.
        if granularity == Granularity::PerCall
            && retry
            && !permit.as_ref().is_some_and(Permit::is_current)
        {
            retry = false;
        }
        // The budget counts a first attempt of a call that may retry, and decides the retry
        // (R11), before any wait.
        let mut withdrawn = None;
        if self.attempts > 1 {
            match budget::on_failed_attempt(self.breaker, self.attempt, retry) {
                Answer::Granted(second) => withdrawn = second,
                Answer::Denied => retry = false,
            }
        }
        // The breaker judges the call, not the attempt: keep the permit for the next one.
        if granularity == Granularity::PerCall && retry {
            self.permit = permit;
            return Some(self.policy.wait(self.attempt));
        }
        if let Some(permit) = permit {
            match (verdict, timed_out) {
                (Verdict::Ignore, _) => permit.ignore(),
                (_, true) => permit.timeout(),
                (_, false) => permit.failure(),
            }
        }
        if !retry {
            return None;
        }
        // `per_attempt`: the next attempt asks now, before the wait: a breaker this failure (or
        // another caller) has opened ends the call at once, with this error (R1), and the retry
        // the budget granted for it is given back.
        match self.breaker.try_acquire() {
            Ok(next) => self.permit = Some(next.driven()),
            Err(_) => {
                if let Some(second) = withdrawn {
                    budget::refund(self.breaker, second);
                }
                return None;
            }
        }
        Some(self.policy.wait(self.attempt))
    }

    /// A transient failure ends a call that nesting cut to one attempt, where its own policy
    /// would have retried (R12): counted on its breaker and on the edge.
    #[cold]
    fn nested_single(&self) {
        if self.attempt < self.policy.attempts() && !self.is_probe_per_call() {
            self.breaker.budget().1.nested_single();
            nesting::suppressed(self.site, self.policy);
        }
    }

    /// What the attempt now running runs inside: its `tracing` span, at DEBUG (`None` when DEBUG
    /// is off), and, when the call may retry, the nesting scope the annotated fns it calls see
    /// (R12). The generated code enters it on each poll of the attempt. It asks for it once per
    /// attempt, right after the admission; with feature `testing` it also takes the fault injected
    /// for the attempt, if one is armed.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn span(&self) -> crate::__private::AttemptSpan {
        let scope = attempt_scope(self.breaker, self.attempt, self.attempts, self.nesting());
        #[cfg(feature = "testing")]
        let scope = crate::testing::driver::Prepared::new(scope, self.breaker);
        scope
    }

    /// The attempt's scope without a span: what [`CallPolicy::run`] runs attempts in.
    fn scope(&self) -> AttemptScope {
        AttemptScope::new(None, self.nesting())
    }
}

impl Call<'static> {
    /// Starts a call of the fn at `site`, under its breaker and with its policy: what the
    /// expansion of `#[circuit_breaker]` does, so that a nesting this call takes part in is
    /// recorded under the fn's name (R12).
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn at(site: &'static CallSite) -> Call<'static> {
        Call::start(site.breaker(), site.policy(), Some(site))
    }
}

/// The scope of an attempt: its `breaker.attempt` span at DEBUG, and its nesting scope. The level
/// is checked against the global filter first, inline: with DEBUG off (the usual case in
/// production) it costs one relaxed load, and the attempt carries no span at all. Each branch
/// builds the value in place, so no empty span is copied around.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn attempt_scope(
    breaker: &Breaker,
    attempt: u32,
    attempts: u32,
    nesting: Option<NestingScope>,
) -> AttemptScope {
    if tracing::level_enabled!(tracing::Level::DEBUG) {
        AttemptScope::new(Some(debug_span(breaker, attempt, attempts)), nesting)
    } else {
        AttemptScope::new(None, nesting)
    }
}

#[cold]
#[inline(never)]
fn debug_span(breaker: &Breaker, attempt: u32, attempts: u32) -> tracing::Span {
    tracing::debug_span!(
        target: "breakerbox",
        "breaker.attempt",
        breaker = breaker.name(),
        attempt = attempt,
        attempts = attempts,
    )
}

impl CallPolicy {
    /// Runs an async operation under `breaker` with this policy: what `#[circuit_breaker]` does,
    /// for code that builds its breakers at run time.
    ///
    /// `op` is called once per attempt; `classify` decides what each error means (pass
    /// [`Verdict::transient`] to count every error as transient). The error type holds both
    /// [`Rejected`] and [`TimedOut`], since the policy may carry an attempt timeout. (With feature
    /// `testing`, an attempt that takes an injected fault returns its error without calling `op`;
    /// see [`Injectable`].)
    ///
    /// ```
    /// use breaker_core::{Breaker, CallPolicy, Config, Granularity, Rejected, TimedOut, Verdict};
    ///
    /// #[derive(Debug)]
    /// enum Error { Down, Rejected(Rejected), TimedOut(TimedOut) }
    /// impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
    /// impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
    ///
    /// static API: Breaker = Breaker::new(Config::new("api"));
    /// const POLICY: CallPolicy = match CallPolicy::builder().attempts(3).retry(Granularity::PerCall).build() {
    ///     Ok(p) => p,
    ///     Err(_) => panic!("invalid policy"),
    /// };
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let mut tries = 0;
    /// let result: Result<u32, Error> = POLICY
    ///     .run(&API, Verdict::transient, || { tries += 1; let ok = tries == 3; async move { if ok { Ok(7) } else { Err(Error::Down) } } })
    ///     .await;
    /// assert_eq!(result.unwrap(), 7);
    /// assert_eq!(API.metrics().failures, 0); // per_call: the call succeeded
    /// # }
    /// ```
    pub async fn run<T, E, F, Fut>(
        &self,
        breaker: &Breaker,
        classify: fn(&E) -> Verdict,
        op: F,
    ) -> Result<T, E>
    where
        E: From<Rejected> + From<TimedOut> + Injectable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        drive(Call::new(breaker, self), classify, op).await
    }

    /// Runs a blocking operation under `breaker` with this policy, sleeping the thread between
    /// attempts. A `timeout` does not apply: a blocking call cannot be cut off. (With feature
    /// `testing`, an attempt that takes an injected fault returns its error without calling `op`;
    /// see [`Injectable`].)
    pub fn run_blocking<T, E, F>(
        &self,
        breaker: &Breaker,
        classify: fn(&E) -> Verdict,
        op: F,
    ) -> Result<T, E>
    where
        E: From<Rejected> + Injectable,
        F: FnMut() -> Result<T, E>,
    {
        drive_blocking(Call::new(breaker, self), classify, op)
    }
}

impl CallSite {
    /// Runs an async operation as a call of this site: [`CallPolicy::run`] with the site's
    /// breaker and policy, and under the site's name in the nestings it takes part in (R12).
    ///
    /// ```
    /// use breaker_core::{Breaker, CallPolicy, CallSite, Config, Granularity, Nested, Rejected, TimedOut, Verdict};
    /// # #[derive(Debug)] enum Error { Down, Rejected(Rejected), TimedOut(TimedOut) }
    /// # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
    /// # impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
    /// const fn three(nested: Nested) -> CallPolicy {
    ///     match CallPolicy::builder().attempts(3).retry(Granularity::PerCall).nested(nested).build() {
    ///         Ok(p) => p,
    ///         Err(_) => panic!(),
    ///     }
    /// }
    /// static PAGES: Breaker = Breaker::new(Config::new("pages"));
    /// static PRICES: Breaker = Breaker::new(Config::new("prices"));
    /// static PAGE: CallSite = CallSite::new("shop::page", file!(), line!(), three(Nested::Single), &PAGES);
    /// static PRICE: CallSite = CallSite::new("shop::price", file!(), line!(), three(Nested::Retry), &PRICES);
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let requests = std::cell::Cell::new(0);
    /// let price = || PRICE.run(Verdict::transient, || {
    ///     requests.set(requests.get() + 1);
    ///     async { Err::<u32, _>(Error::Down) }
    /// });
    /// let page: Result<u32, Error> = PAGE.run(Verdict::transient, || price()).await;
    /// assert!(page.is_err());
    /// assert_eq!(requests.get(), 9); // `Nested::Retry`: 3 page attempts x 3 price attempts
    /// let edge = breaker_core::registry().edges().find(|e| e.inner().function() == "shop::price");
    /// assert_eq!(edge.unwrap().worst_case(), 9);
    /// # }
    /// ```
    pub async fn run<T, E, F, Fut>(
        &'static self,
        classify: fn(&E) -> Verdict,
        op: F,
    ) -> Result<T, E>
    where
        E: From<Rejected> + From<TimedOut> + Injectable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        drive(Call::at(self), classify, op).await
    }

    /// Runs a blocking operation as a call of this site: [`CallPolicy::run_blocking`] with the
    /// site's breaker and policy, under the site's name in the nestings it takes part in.
    pub fn run_blocking<T, E, F>(&'static self, classify: fn(&E) -> Verdict, op: F) -> Result<T, E>
    where
        E: From<Rejected> + Injectable,
        F: FnMut() -> Result<T, E>,
    {
        drive_blocking(Call::at(self), classify, op)
    }
}

/// The loop of [`CallPolicy::run`] and [`CallSite::run`].
async fn drive<T, E, F, Fut>(
    mut call: Call<'_>,
    classify: fn(&E) -> Verdict,
    mut op: F,
) -> Result<T, E>
where
    E: From<Rejected> + From<TimedOut> + Injectable,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        call.admit::<E>()?;
        #[cfg(feature = "testing")]
        if let Some(fault) = crate::testing::take(call.breaker) {
            match call.settle(Err(fault.error::<E>()), classify) {
                Next::Return(result) => return result,
                Next::Retry(wait) => {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
        }
        let attempt = crate::__private::scoped_attempt(op(), call.scope());
        let next = match call.policy.timeout() {
            Some(limit) => match tokio::time::timeout(limit, attempt).await {
                Ok(result) => call.settle(result, classify),
                Err(_) => call.settle_timeout(limit),
            },
            None => call.settle(attempt.await, classify),
        };
        match next {
            Next::Return(result) => return result,
            Next::Retry(wait) => tokio::time::sleep(wait).await,
        }
    }
}

/// The loop of [`CallPolicy::run_blocking`] and [`CallSite::run_blocking`].
fn drive_blocking<T, E, F>(
    mut call: Call<'_>,
    classify: fn(&E) -> Verdict,
    mut op: F,
) -> Result<T, E>
where
    E: From<Rejected> + Injectable,
    F: FnMut() -> Result<T, E>,
{
    loop {
        call.admit::<E>()?;
        #[cfg(feature = "testing")]
        if let Some(fault) = crate::testing::take(call.breaker) {
            match call.settle(Err(fault.error::<E>()), classify) {
                Next::Return(result) => return result,
                Next::Retry(wait) => {
                    std::thread::sleep(wait);
                    continue;
                }
            }
        }
        let scope = call.scope();
        let entered = scope.enter();
        let result = op();
        entered.returned();
        match call.settle(result, classify) {
            Next::Return(result) => return result,
            Next::Retry(wait) => std::thread::sleep(wait),
        }
    }
}
