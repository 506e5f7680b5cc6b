//! What the retry driver carries for the test kit: an attempt about to run comes with the fault
//! taken for it, if any, and the fault stands in for the body. Only built with feature `testing`;
//! without it, `__private` names the plain span and body instead, and the call path has no hook.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::armed::{self, Fault};
use crate::retry::AttemptScope;
use crate::{Breaker, Injectable};

/// An attempt about to run: its `tracing` span and nesting scope, and the fault taken for it.
#[derive(Debug)]
pub struct Prepared {
    pub(crate) scope: AttemptScope,
    pub(crate) fault: Option<Fault>,
}

impl Prepared {
    /// The attempt just admitted through `breaker`, in `scope`; takes the fault armed for it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new(scope: AttemptScope, breaker: &Breaker) -> Prepared {
        Prepared {
            scope,
            fault: armed::take(breaker),
        }
    }
}

/// What an attempt came to: its body's output, or the fault injected in its place.
#[derive(Debug)]
pub enum Attempted<R> {
    /// The body ran and returned this.
    Ran(R),
    /// The body did not run: this fault makes the attempt's error.
    Injected(Fault),
}

impl<T, E: Injectable> Attempted<Result<T, E>> {
    /// The attempt's result: the body's, or the injected error.
    ///
    /// # Panics
    ///
    /// When the injected fault's factory makes errors of another type than `E`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn into_result(self) -> Result<T, E> {
        match self {
            Attempted::Ran(result) => result,
            Attempted::Injected(fault) => Err(fault.error()),
        }
    }
}

pin_project_lite::pin_project! {
    /// An attempt's body, which an injected fault replaces: then the body is never polled (or,
    /// blocking, never called).
    #[derive(Debug)]
    pub struct Faulty<B> {
        #[pin]
        body: B,
        fault: Option<Fault>,
    }
}

impl<B> Faulty<B> {
    /// `body`, unless `fault` stands in for it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new(body: B, fault: Option<Fault>) -> Faulty<B> {
        Faulty { body, fault }
    }

    /// Calls a blocking body, unless a fault stands in for it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn call<R>(self) -> Attempted<R>
    where
        B: FnOnce() -> R,
    {
        match self.fault {
            Some(fault) => Attempted::Injected(fault),
            None => Attempted::Ran((self.body)()),
        }
    }
}

impl<B: Future> Future for Faulty<B> {
    type Output = Attempted<B::Output>;

    #[cfg_attr(not(debug_assertions), inline)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(fault) = this.fault.take() {
            return Poll::Ready(Attempted::Injected(fault));
        }
        this.body.poll(cx).map(Attempted::Ran)
    }
}
