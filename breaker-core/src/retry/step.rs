//! What an async `#[circuit_breaker]` fn that retries runs its call with: [`Retrying`], and a
//! [`Step`] of it for each attempt.
//!
//! The fn keeps its loop and its attempt's `async` block, which are the user's code, pinned in its
//! own future. The rest of an attempt is the step's: it asks for the admission, enters the
//! attempt's span and nesting scope around each poll of it (under the panic guard, R3), bounds it
//! by its `timeout`, and settles its outcome; the next step first sleeps the backoff, once the fn
//! has dropped the attempt before it. The fn's future so awaits once per attempt, not twice (the
//! attempt, then the backoff).
//!
//! What the attribute costs to compile is mostly what is compiled once per annotated fn
//! (`benches/compile_time.sh`). So all of this is generic over the fn's `T` and `E` alone, and
//! compiled once per error and success type; what is compiled per fn is a `Step`: the attempt, its
//! timer and a reference to its call, with a poll that only hands over. A debug build hands the
//! attempt over as `dyn Future`; an optimised build as its own type, and inlines it all. What else
//! a step needs across its polls (where it is, the attempt's span and scope) is kept in the
//! [`Retrying`], so that the drop of each fn's `Step` has nothing more to drop than the attempt and
//! the timer.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use super::call::{Call, Next};
use super::nesting::AttemptScope;
use crate::__private::Shape;
use crate::{Injectable, Rejected, TimedOut, Verdict};

/// Whether the attempt now starting is its call's last, which gets the fn's arguments themselves
/// rather than clones: set by the step at each admission, read by the attempt as it starts. An
/// atomic and not a `Cell`, so that the fn's future, which holds references to it across its
/// `.await`s, stays `Send`; relaxed, as the one thread that polls both writes it before it reads.
#[derive(Debug, Default)]
pub struct Last(AtomicBool);

impl Last {
    /// Not yet known: no attempt has been admitted.
    #[cfg_attr(not(debug_assertions), inline)]
    pub const fn new() -> Last {
        Last(AtomicBool::new(false))
    }

    /// Whether the attempt admitted last is the call's last.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, last: bool) {
        self.0.store(last, Ordering::Relaxed);
    }
}

/// An async call that retries, as its annotated fn runs it: the [`Call`], and how to make the
/// fn's errors. Made by [`Shape::retrying`]; the fn keeps it for the whole call and awaits a
/// [`Step`] of it for each attempt.
#[must_use = "a call does nothing unless its steps are awaited"]
pub struct Retrying<'a, T, E> {
    call: Call<'static>,
    last: Option<&'a Last>,
    classify: fn(&E) -> Verdict,
    rejection: fn(Rejected) -> E,
    timeout: Option<fn(TimedOut) -> E>,
    /// The backoff the last attempt left: the next step sleeps it before its admission.
    wait: Option<Duration>,
    /// Where the current step is; `Admit` between steps.
    phase: Phase,
    // `fn() -> T`: it holds no `T`, and is `Send` and `Sync` whatever `T` is.
    _result: PhantomData<fn() -> T>,
}

impl<T, E> fmt::Debug for Retrying<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrying")
            .field("call", &self.call)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl<T, E> Shape<T, E> {
    /// Starts `call` as an annotated async fn that retries runs it, kept for the whole call, the
    /// [`step`](Shape::step) of each attempt awaited in turn. A method of the `Shape`, as every value the
    /// expansion makes of the fn's types: when the return type is not a `Result`, the `Shape` has
    /// no type, and rustc reports it alone. `last`, when the attempts take arguments of their own,
    /// is told at each admission whether that attempt is the call's last; `rejection` and
    /// `timeout` make the fn's error of a refusal and of a missed `timeout`, and `timeout` is
    /// `Some` exactly when the fn sets one.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn retrying<'a>(
        self,
        call: Call<'static>,
        last: Option<&'a Last>,
        classify: fn(&E) -> Verdict,
        rejection: fn(Rejected) -> E,
        timeout: Option<fn(TimedOut) -> E>,
    ) -> Retrying<'a, T, E> {
        Retrying {
            call,
            last,
            classify,
            rejection,
            timeout,
            wait: None,
            phase: Phase::Admit,
            _result: PhantomData,
        }
    }

    /// The step of `attempt`, the next attempt of `call`, built in the argument: the bound names
    /// its output, which gives its `async` block that type, so `?` and `return` in the body infer
    /// as they do in the fn. A method of the `Shape` too: a fn that returns no `Result` gets one
    /// error, on its return type, and none here.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn step<'s, 'a, F: Future<Output = Result<T, E>>>(
        self,
        call: &'s mut Retrying<'a, T, E>,
        attempt: F,
    ) -> Step<'s, 'a, T, E, F> {
        Step {
            call,
            timer: Timer::Off,
            attempt,
        }
    }
}

pin_project_lite::pin_project! {
    /// The backoff the previous attempt left, if any, and one attempt of a call that retries.
    /// Ready with `Some(result)` when the call is over, with `None` when the next attempt is to
    /// start: the caller then drops this one, and awaits the step of that one.
    #[must_use = "futures do nothing unless awaited"]
    pub struct Step<'s, 'a, T, E, F> {
        call: &'s mut Retrying<'a, T, E>,
        // The backoff before the attempt, then the attempt's `timeout` while it runs.
        #[pin]
        timer: Timer,
        // Polled while it runs and never after it completes.
        #[pin]
        attempt: F,
    }
}

impl<T, E, F> fmt::Debug for Step<'_, '_, T, E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl<T, E: Injectable, F: Future<Output = Result<T, E>>> Future for Step<'_, '_, T, E, F> {
    type Output = Option<Result<T, E>>;

    #[cfg_attr(not(debug_assertions), inline)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // A debug build erases the attempt's type here, so that the call's poll is compiled once
        // per `T` and `E`; this fn, compiled once per annotated fn, is only the hand-over.
        #[cfg(debug_assertions)]
        let attempt: Pin<&mut dyn Future<Output = Result<T, E>>> = this.attempt;
        #[cfg(not(debug_assertions))]
        let attempt = this.attempt;
        this.call.poll_attempt(this.timer, attempt, cx)
    }
}

/// What a step's poll returns: `Some(result)` when the call is over, `None` when the next attempt
/// is to start.
type Polled<T, E> = Poll<Option<Result<T, E>>>;

/// Where a step is.
#[derive(Debug)]
enum Phase {
    /// Not yet admitted: the first poll sleeps the backoff the last attempt left, if any, then
    /// asks.
    Admit,
    /// The attempt runs, inside this scope on each poll.
    Run(AttemptScope),
    /// The backoff before the admission: the timer holds it.
    Wait,
}

impl<T, E: Injectable> Retrying<'_, T, E> {
    /// Polls the step: the backoff the previous attempt left, if any, then the attempt's
    /// admission, then the attempt while it runs. A first attempt that completes on its first poll
    /// (the common case) makes no timer, not even when the fn sets a `timeout`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn poll_attempt<B: Future<Output = Result<T, E>> + ?Sized>(
        &mut self,
        mut timer: Pin<&mut Timer>,
        attempt: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Polled<T, E> {
        let next = match &self.phase {
            Phase::Run(scope) => {
                let next = match run(scope, attempt, cx) {
                    Poll::Ready(result) => self.call.settle(result, self.classify),
                    Poll::Pending => match self.timed_out(timer.as_mut(), cx) {
                        Some(next) => next,
                        None => return Poll::Pending,
                    },
                };
                // The attempt is over, and its scope (its span) with it.
                self.phase = Phase::Admit;
                next
            }
            Phase::Admit | Phase::Wait => {
                // (`Option`'s own methods are avoided in this generic code: each would be
                // compiled again in every crate with annotated fns.)
                if let Phase::Admit = self.phase
                    && let Some(wait) = self.wait
                {
                    self.wait = None;
                    self.phase = Phase::Wait;
                    timer.as_mut().start(wait);
                }
                if let Phase::Wait = self.phase {
                    match timer.as_mut().elapsed(cx) {
                        Some(_) => self.phase = Phase::Admit,
                        None => return Poll::Pending,
                    }
                }
                match self.start(timer, attempt, cx) {
                    Ok(next) => next,
                    Err(poll) => return poll,
                }
            }
        };
        Poll::Ready(self.after(next))
    }

    /// Admits the attempt and polls it a first time: `Ok` with its settled outcome when it is
    /// over, `Err` with what the step's poll returns when it is not (or when it was refused).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn start<B: Future<Output = Result<T, E>> + ?Sized>(
        &mut self,
        mut timer: Pin<&mut Timer>,
        attempt: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Result<Next<T, E>, Polled<T, E>> {
        if let Err(rejected) = self.call.admit::<Rejected>() {
            return Err(Poll::Ready(Some(Err((self.rejection)(rejected)))));
        }
        if let Some(last) = self.last {
            last.set(self.call.is_last());
        }
        let span = self.call.span();
        // With feature `testing`, a fault armed for this attempt stands in for it: the attempt is
        // never polled, and the fault's error is its outcome.
        #[cfg(feature = "testing")]
        let span = match span.fault {
            Some(fault) => return Ok(self.call.settle(Err(fault.error::<E>()), self.classify)),
            None => span.scope,
        };
        if let Some(_held) = self.timeout
            && let Some(limit) = self.call.timeout()
        {
            timer.as_mut().start(limit);
        }
        match run(&span, attempt, cx) {
            Poll::Ready(result) => Ok(self.call.settle(result, self.classify)),
            Poll::Pending => {
                self.phase = Phase::Run(span);
                match self.timed_out(timer, cx) {
                    Some(next) => Ok(next),
                    None => Err(Poll::Pending),
                }
            }
        }
    }

    /// The attempt is pending: settled as a failure if its `timeout` has run out.
    fn timed_out(&mut self, timer: Pin<&mut Timer>, cx: &mut Context<'_>) -> Option<Next<T, E>> {
        if let Some(held) = self.timeout
            && let Some(limit) = timer.elapsed(cx)
        {
            Some(self.call.settle_timed_out(held(TimedOut::new(limit))))
        } else {
            None
        }
    }

    /// The attempt is settled: the call's result, or `None` when the call goes on. The backoff is
    /// the next step's to sleep, once the caller has dropped this attempt: an attempt cut off by
    /// its `timeout` holds nothing (a connection, a nested call's permit) through the wait.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn after(&mut self, next: Next<T, E>) -> Option<Result<T, E>> {
        match next {
            Next::Return(result) => Some(result),
            Next::Retry(wait) => {
                self.wait = Some(wait);
                None
            }
        }
    }
}

/// Polls the attempt once inside its scope, under the panic guard: a panic out of it marks the
/// thread, so that the call's permit, dropped on the way, records a failure (R3).
#[cfg_attr(not(debug_assertions), inline(always))]
fn run<B: Future + ?Sized>(
    scope: &AttemptScope,
    attempt: Pin<&mut B>,
    cx: &mut Context<'_>,
) -> Poll<B::Output> {
    // An optimised build inlines each case of the scope; a debug build enters through guards
    // compiled once.
    #[cfg(not(debug_assertions))]
    return scope.run(|| attempt.poll(cx));
    #[cfg(debug_assertions)]
    {
        let entered = scope.enter();
        let polled = attempt.poll(cx);
        entered.returned();
        polled
    }
}

pin_project_lite::pin_project! {
    /// A step's one timer: the backoff before its attempt, then the attempt's `timeout` while it
    /// runs. Started with its deadline alone; the sleep is made the first time the task waits on
    /// it. So an attempt that completes on its first poll makes none, not even with a `timeout`,
    /// and a call needs a tokio runtime only once it waits.
    #[project = TimerProj]
    #[derive(Debug)]
    enum Timer {
        Off,
        Due {
            deadline: tokio::time::Instant,
            after: Duration,
        },
        On {
            #[pin]
            sleep: tokio::time::Sleep,
            after: Duration,
        },
    }
}

impl Timer {
    fn start(mut self: Pin<&mut Self>, after: Duration) {
        let deadline = tokio::time::Instant::now() + after;
        self.set(Timer::Due { deadline, after });
    }

    /// `Some(after)` once the timer has run out; never while it is off. Until then the task is
    /// woken when it does.
    fn elapsed(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Option<Duration> {
        if let Timer::Due { deadline, after } = *self {
            self.set(Timer::On {
                sleep: tokio::time::sleep_until(deadline),
                after,
            });
        }
        match self.project() {
            TimerProj::On { sleep, after } => match sleep.poll(cx) {
                Poll::Ready(()) => Some(*after),
                Poll::Pending => None,
            },
            TimerProj::Off | TimerProj::Due { .. } => None,
        }
    }
}
