//! The retry driver: one call, its attempts, and what the breaker is told about them.
//!
//! [`Call`] is a small state machine that the generated code (and [`CallPolicy::run`] /
//! [`CallPolicy::run_blocking`]) drive in a plain loop: `admit`, run the attempt, `settle`, sleep if
//! told to. Keeping the loop in the caller means no boxed future, no closure that must lend its
//! arguments to a future, and no allocation per call or per attempt.

use std::future::Future;
use std::time::Duration;

use crate::{Breaker, CallPolicy, Granularity, Injectable, Permit, Rejected, TimedOut, Verdict};

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
#[derive(Debug)]
pub struct Call<'b> {
    breaker: &'b Breaker,
    policy: &'b CallPolicy,
    /// Attempts started so far.
    attempt: u32,
    /// The admission of the attempt running or about to run.
    permit: Option<Permit<'b>>,
}

impl<'b> Call<'b> {
    /// Starts a call.
    pub fn new(breaker: &'b Breaker, policy: &'b CallPolicy) -> Call<'b> {
        Call {
            breaker,
            policy,
            attempt: 0,
            permit: None,
        }
    }

    /// Asks for the next attempt. `Err` carries what the call returns instead: the rejection,
    /// when the breaker refuses the first attempt (R4), or when a `per_call` admission went stale
    /// while the call waited to retry (R2).
    #[inline]
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

    /// Whether the attempt now running is the call's last, whatever its outcome: the generated code
    /// hands it the original arguments instead of clones.
    #[inline]
    pub fn is_last(&self) -> bool {
        self.attempt >= self.policy.attempts()
            || (self.policy.granularity() == Granularity::PerCall
                && self.permit.as_ref().is_some_and(Permit::is_probe))
    }

    /// Settles the attempt's result.
    #[inline]
    pub fn settle<T, E>(
        &mut self,
        result: Result<T, E>,
        classify: fn(&E) -> Verdict,
    ) -> Next<T, E> {
        match result {
            Ok(value) => {
                if let Some(permit) = self.permit.take() {
                    permit.success();
                }
                Next::Return(Ok(value))
            }
            Err(error) => {
                let verdict = classify(&error);
                self.settle_error(error, verdict, false)
            }
        }
    }

    /// Settles an attempt that missed its timeout: a `Transient` failure (R3).
    pub fn settle_timeout<T, E: From<TimedOut>>(&mut self, after: Duration) -> Next<T, E> {
        self.settle_error(TimedOut::new(after).into(), Verdict::Transient, true)
    }

    fn settle_error<T, E>(&mut self, error: E, verdict: Verdict, timed_out: bool) -> Next<T, E> {
        let retry = verdict == Verdict::Transient && !self.is_last();
        let permit = self.permit.take();
        match self.policy.granularity() {
            // The breaker judges the call, not the attempt: keep the permit for the next one,
            // unless the breaker has left the state it was admitted in (R2).
            Granularity::PerCall if retry && permit.as_ref().is_some_and(Permit::is_current) => {
                self.permit = permit;
            }
            Granularity::PerCall | Granularity::PerAttempt => {
                if let Some(permit) = permit {
                    match (verdict, timed_out) {
                        (Verdict::Ignore, _) => permit.ignore(),
                        (_, true) => permit.timeout(),
                        (_, false) => permit.failure(),
                    }
                }
                if !retry {
                    return Next::Return(Err(error));
                }
                match self.policy.granularity() {
                    // A stale `per_call` admission: the failure above was counted late, and the
                    // call makes no further attempt.
                    Granularity::PerCall => return Next::Return(Err(error)),
                    // The next attempt asks now, before the wait: a breaker this failure (or another
                    // caller) has opened ends the call at once, with this error (R1).
                    Granularity::PerAttempt => match self.breaker.try_acquire() {
                        Ok(next) => self.permit = Some(next.driven()),
                        Err(_) => return Next::Return(Err(error)),
                    },
                }
            }
        }
        Next::Retry(self.policy.wait(self.attempt))
    }

    /// The `tracing` span for the attempt now running, at DEBUG; `None` when DEBUG is off. The
    /// expansion asks for it once per attempt, right after the admission; with feature `testing`
    /// it also takes the fault injected for the attempt, if one is armed.
    #[inline(always)]
    pub fn span(&self) -> crate::__private::AttemptSpan {
        let span = attempt_span(self.breaker, self.attempt, self.policy);
        #[cfg(feature = "testing")]
        let span = crate::testing::driver::Prepared::new(span, self.breaker);
        span
    }
}

/// The `breaker.attempt` span at DEBUG. Checked against the global level filter first, inline:
/// with DEBUG off (the usual case in production) it costs one relaxed load, and the attempt carries
/// no span at all.
#[inline(always)]
pub(crate) fn attempt_span(
    breaker: &Breaker,
    attempt: u32,
    policy: &CallPolicy,
) -> Option<tracing::Span> {
    if tracing::level_enabled!(tracing::Level::DEBUG) {
        Some(debug_span(breaker, attempt, policy))
    } else {
        None
    }
}

#[cold]
#[inline(never)]
fn debug_span(breaker: &Breaker, attempt: u32, policy: &CallPolicy) -> tracing::Span {
    tracing::debug_span!(
        target: "breakerbox",
        "breaker.attempt",
        breaker = breaker.name(),
        attempt = attempt,
        attempts = policy.attempts(),
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
        mut op: F,
    ) -> Result<T, E>
    where
        E: From<Rejected> + From<TimedOut> + Injectable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut call = Call::new(breaker, self);
        loop {
            call.admit::<E>()?;
            #[cfg(feature = "testing")]
            if let Some(fault) = crate::testing::take(breaker) {
                match call.settle(Err(fault.error::<E>()), classify) {
                    Next::Return(result) => return result,
                    Next::Retry(wait) => {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                }
            }
            let attempt = crate::__private::guarded_attempt(op());
            let next = match self.timeout() {
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

    /// Runs a blocking operation under `breaker` with this policy, sleeping the thread between
    /// attempts. A `timeout` does not apply: a blocking call cannot be cut off. (With feature
    /// `testing`, an attempt that takes an injected fault returns its error without calling `op`;
    /// see [`Injectable`].)
    pub fn run_blocking<T, E, F>(
        &self,
        breaker: &Breaker,
        classify: fn(&E) -> Verdict,
        mut op: F,
    ) -> Result<T, E>
    where
        E: From<Rejected> + Injectable,
        F: FnMut() -> Result<T, E>,
    {
        let mut call = Call::new(breaker, self);
        loop {
            call.admit::<E>()?;
            #[cfg(feature = "testing")]
            if let Some(fault) = crate::testing::take(breaker) {
                match call.settle(Err(fault.error::<E>()), classify) {
                    Next::Return(result) => return result,
                    Next::Retry(wait) => {
                        std::thread::sleep(wait);
                        continue;
                    }
                }
            }
            let result = crate::circuit::guarded(&mut op);
            match call.settle(result, classify) {
                Next::Return(result) => return result,
                Next::Retry(wait) => std::thread::sleep(wait),
            }
        }
    }
}
