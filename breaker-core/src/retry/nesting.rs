//! Nesting (R12): while an attempt of a retrying call runs, an annotated fn it calls in the same
//! task makes a single attempt, unless its policy says [`Nested::Retry`].
//!
//! The scope is a thread-local, set around each poll of an async attempt (and around a blocking
//! attempt) of a call that retries, and restored when the poll returns, so it follows the task
//! that runs the attempt and never leaks into another task polled on the same thread between two
//! polls. A call reads it once when it starts: that read is all the nesting check costs a call
//! that runs outside any scope.
//!
//! A task started with `tokio::spawn` (or a thread) is polled by the runtime outside every
//! attempt, so it starts outside any scope and its calls retry as written. To make a spawned
//! task's calls count as nested in the attempt that spawned it, pass its future through
//! [`in_scope`] (or [`NestingScope::carry`]), which re-enters the captured scope on each poll.
//! The converse also holds: a future polled from inside an attempt by a nested executor
//! (`futures::executor::block_on`, `LocalSet::run_until` inside the attempt) runs in its scope.

use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::circuit::PanicGuard;
use crate::registry::{self, NestingEdge};
use crate::{Breaker, CallPolicy, CallSite, Config, Nested};

/// The retrying call whose attempt is running on this thread: what an annotated fn called inside
/// it is nested in (R12).
///
/// ```
/// use breaker_core::NestingScope;
///
/// // Outside every attempt.
/// assert!(NestingScope::current().is_none());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct NestingScope {
    /// The outer call's fn, or [`UNNAMED`] for a call made without a call site. One pointer, so
    /// that the thread-local holding it is read and written in one move.
    outer: &'static CallSite,
}

/// The outer call site of a scope opened by a call without one ([`CallPolicy::run`]).
static UNNAMED: CallSite = CallSite::new(
    "(a call without a call site)",
    "",
    0,
    CallPolicy::SINGLE,
    &UNNAMED_BREAKER,
);
static UNNAMED_BREAKER: Breaker = Breaker::new(Config::new("(none)"));

/// The call site a call keeps: its own, or [`UNNAMED`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn site(site: Option<&'static CallSite>) -> &'static CallSite {
    match site {
        Some(site) => site,
        None => &UNNAMED,
    }
}

/// A call site that nesting edges can name: any but [`UNNAMED`].
fn named(site: &'static CallSite) -> Option<&'static CallSite> {
    (!std::ptr::eq(site, &UNNAMED)).then_some(site)
}

thread_local! {
    // `const`, without a destructor: reading it is one load from the thread's block.
    static CURRENT: Cell<Option<NestingScope>> = const { Cell::new(None) };
    /// The last nesting this thread recorded: (outer site, inner site or breaker) by address, and
    /// its edge, so a loop of nested calls looks the edge up once.
    static LAST_EDGE: Cell<Option<(usize, usize, Option<&'static NestingEdge>)>> =
        const { Cell::new(None) };
}

impl NestingScope {
    /// The scope of the attempt running on this thread, if any.
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn current() -> Option<NestingScope> {
        CURRENT.with(Cell::get)
    }

    /// The outer call's fn, when known: an annotated fn, or a call through [`CallSite::run`].
    pub fn outer(&self) -> Option<&'static CallSite> {
        named(self.outer)
    }

    /// Runs this thread in the scope until the guard is dropped: for a thread started inside an
    /// attempt whose annotated calls should count as nested in it.
    ///
    /// ```
    /// use breaker_core::NestingScope;
    ///
    /// fn spawn_worker() -> std::thread::JoinHandle<()> {
    ///     let scope = NestingScope::current();
    ///     std::thread::spawn(move || {
    ///         let _nested = scope.map(NestingScope::enter);
    ///         // Annotated calls here are nested in the attempt that spawned the thread.
    ///     })
    /// }
    /// # spawn_worker().join().unwrap();
    /// ```
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn enter(self) -> EnteredScope {
        EnteredScope {
            previous: CURRENT.with(|current| current.replace(Some(self))),
            not_send: PhantomData,
        }
    }

    /// The scope a call of `site` (see [`site`]) making `attempts` attempts opens: none unless it
    /// may retry. (A call that may retry makes its policy's attempts: nesting cuts them to one or
    /// leaves them, so the outer site's policy says how many the scope's call makes.)
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn of(site: &'static CallSite, attempts: u32) -> Option<NestingScope> {
        (attempts > 1).then_some(NestingScope { outer: site })
    }

    /// Wraps a future so that every poll of it runs in this scope.
    pub fn carry<F: IntoFuture>(self, future: F) -> InScope<F::IntoFuture> {
        InScope {
            inner: future.into_future(),
            scope: Some(self),
        }
    }
}

/// Wraps a future so that it runs in the nesting scope this is called in: for a task spawned
/// inside an attempt whose annotated calls should count as nested in it (R12). Called outside
/// any attempt, the future runs outside any scope, as it would unwrapped.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use breaker_core::{Breaker, CallPolicy, Config, Granularity, Rejected, TimedOut, Verdict, in_scope};
/// # #[derive(Debug)] enum Error { Down, Rejected(Rejected), TimedOut(TimedOut) }
/// # impl From<Rejected> for Error { fn from(r: Rejected) -> Self { Error::Rejected(r) } }
/// # impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
/// # const fn config(name: &'static str) -> Config {
/// #     match Config::builder(name).threshold(100).build() { Ok(c) => c, Err(_) => panic!() }
/// # }
/// static OUTER: Breaker = Breaker::new(config("outer"));
/// static INNER: Breaker = Breaker::new(config("inner")); // opens after 100 failures
/// const THREE: CallPolicy = match CallPolicy::builder().attempts(3).retry(Granularity::PerCall).build() {
///     Ok(p) => p,
///     Err(_) => panic!(),
/// };
/// static REQUESTS: AtomicU32 = AtomicU32::new(0);
///
/// async fn inner() -> Result<(), Error> {
///     THREE.run(&INNER, Verdict::transient, || async {
///         REQUESTS.fetch_add(1, Ordering::Relaxed);
///         Err(Error::Down)
///     }).await
/// }
///
/// /// One call of 3 attempts; each attempt spawns the inner call as a task of its own.
/// async fn outer(carry: bool) -> u32 {
///     let _: Result<(), Error> = THREE
///         .run(&OUTER, Verdict::transient, || async move {
///             let task = if carry { tokio::spawn(in_scope(inner())) } else { tokio::spawn(inner()) };
///             task.await.unwrap()
///         })
///         .await;
///     REQUESTS.swap(0, Ordering::Relaxed)
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// assert_eq!(outer(false).await, 9); // a spawned task starts outside the scope: 3 x 3
/// assert_eq!(outer(true).await, 3); // carried into it: 3 x 1
/// # }
/// ```
pub fn in_scope<F: IntoFuture>(future: F) -> InScope<F::IntoFuture> {
    InScope {
        inner: future.into_future(),
        scope: NestingScope::current(),
    }
}

/// The nesting scope entered by [`NestingScope::enter`]; leaving restores the scope before it.
/// Bound to its thread.
#[derive(Debug)]
#[must_use = "the scope is left when the guard is dropped"]
pub struct EnteredScope {
    previous: Option<NestingScope>,
    not_send: PhantomData<*const ()>,
}

impl Drop for EnteredScope {
    #[cfg_attr(not(debug_assertions), inline)]
    fn drop(&mut self) {
        // `try_with`: a guard may be dropped while the thread's locals are torn down.
        let _ = CURRENT.try_with(|current| current.set(self.previous));
    }
}

pin_project_lite::pin_project! {
    /// A future that runs in a captured nesting scope; see [`in_scope`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct InScope<F> {
        #[pin]
        inner: F,
        scope: Option<NestingScope>,
    }
}

impl<F: Future> Future for InScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.scope.map(NestingScope::enter);
        this.inner.poll(cx)
    }
}

/// What one attempt runs inside: its `tracing` span when DEBUG is on, and, for a call that
/// retries, the nesting scope the annotated fns it calls see (R12). Made by
/// `Call::span` (the retry driver's) for the attempt now running.
#[derive(Debug, Default)]
pub struct AttemptScope {
    span: Option<tracing::Span>,
    nesting: Option<NestingScope>,
}

impl AttemptScope {
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new(span: Option<tracing::Span>, nesting: Option<NestingScope>) -> AttemptScope {
        AttemptScope { span, nesting }
    }

    /// The attempt's `breaker.attempt` span; `None` when DEBUG is off.
    pub fn span(&self) -> Option<&tracing::Span> {
        self.span.as_ref()
    }

    /// The scope the attempt opens: `Some` for a call that retries.
    pub fn nesting(&self) -> Option<NestingScope> {
        self.nesting
    }

    /// Runs `f` as the attempt, inside the span and the scope and under the panic guard: what an
    /// optimised build does, where `f` is inlined and each case gets code of its own (the common
    /// one, no span and no scope, keeps nothing across `f` but the guard, which costs nothing).
    /// A debug build uses [`AttemptScope::enter`] instead, which is compiled once rather than once
    /// per annotated fn.
    #[cfg(not(debug_assertions))]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        match (&self.span, self.nesting) {
            (None, None) => guarded(f),
            (None, Some(nesting)) => {
                let _nested = nesting.enter();
                guarded(f)
            }
            (Some(span), nesting) => {
                let _entered = span.enter();
                let _nested = nesting.map(NestingScope::enter);
                guarded(f)
            }
        }
    }

    /// Starts running the attempt (one poll of an async attempt, or a blocking one): enters the
    /// span and the scope, and arms the panic guard, until the attempt returns
    /// ([`EnteredAttempt::returned`]) or unwinds. A guard and not a fn taking the attempt as a
    /// closure, so that none of it is generic: in a debug build an annotated fn compiles the poll
    /// of its attempt, not a copy of this. An optimised build runs the expansion's attempts
    /// through [`AttemptScope::run`], where inlining the closure costs nothing and each case gets
    /// code of its own.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn enter(&self) -> EnteredAttempt<'_> {
        EnteredAttempt {
            // The scope is entered inside the span, and the guard armed inside both.
            _span: self.span.as_ref().map(tracing::Span::enter),
            _nesting: self.nesting.map(NestingScope::enter),
            panicking: PanicGuard::arm(),
        }
    }
}

/// An attempt running inside its span and nesting scope, from [`AttemptScope::enter`]. Leaving
/// restores what was there before; leaving by a panic out of the attempt also marks the thread, so
/// that the call's permit, dropped on the way, records a failure rather than a cancellation (R3).
/// Bound to its thread.
#[derive(Debug)]
#[must_use = "the attempt's scope is left when the guard is dropped"]
pub(crate) struct EnteredAttempt<'a> {
    // Dropped in field order, the reverse of their entry: the guard first, then the scope, then
    // the span. The last two are held for their `Drop` alone.
    panicking: PanicGuard,
    _nesting: Option<EnteredScope>,
    _span: Option<tracing::span::Entered<'a>>,
}

impl EnteredAttempt<'_> {
    /// The attempt returned (a poll or a blocking call): no panic came out of it. Leaves the
    /// scope and the span.
    #[cfg_attr(not(debug_assertions), inline)]
    pub(crate) fn returned(self) {
        let EnteredAttempt { panicking, .. } = self;
        panicking.disarm();
    }
}

/// Runs `f` under the panic guard.
#[cfg(not(debug_assertions))]
#[cfg_attr(not(debug_assertions), inline(always))]
fn guarded<R>(f: impl FnOnce() -> R) -> R {
    let panicking = PanicGuard::arm();
    let out = f();
    panicking.disarm();
    out
}

// ---- what the driver calls ----

/// A call starts: how many attempts it may make. Outside any scope that is one thread-local read;
/// inside one, the nesting is recorded (once) when both fns are known.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn start(site: &'static CallSite, policy: &CallPolicy) -> u32 {
    match CURRENT.with(Cell::get) {
        None => policy.attempts(),
        Some(outer) => nested(outer, site, policy),
    }
}

#[cold]
#[inline(never)]
fn nested(outer: NestingScope, site: &'static CallSite, policy: &CallPolicy) -> u32 {
    let attempts = attempts_nested(policy);
    let _ = edge_of(outer, site, attempts);
    attempts
}

/// The attempts a call with `policy` makes inside another retrying call's attempt.
fn attempts_nested(policy: &CallPolicy) -> u32 {
    match policy.nested() {
        Nested::Single => 1,
        Nested::Retry => policy.attempts(),
    }
}

/// The edge from the scope's call to `inner`, making `attempts`: none when either call is not
/// known.
fn edge_of(
    outer: NestingScope,
    inner: &'static CallSite,
    attempts: u32,
) -> Option<&'static NestingEdge> {
    let outer_site = outer.outer()?;
    let inner = named(inner)?;
    edge(outer_site, address(inner), || {
        Some((
            inner,
            outer_site.policy().attempts().saturating_mul(attempts),
        ))
    })
}

/// A call nesting cut to one attempt failed where it would have retried (R12): counted on the
/// edge it was seen on, found again in the scope it still runs in.
#[cold]
pub(crate) fn suppressed(site: &'static CallSite, policy: &CallPolicy) {
    if let Some(outer) = NestingScope::current()
        && let Some(edge) = edge_of(outer, site, attempts_nested(policy))
    {
        edge.count_suppressed();
    }
}

/// A call of a fn that makes one attempt starts (it never opens a scope of its own): records the
/// edge when it runs inside one. Outside any scope that is one thread-local read.
///
/// The expansion of such a fn names its breaker, not its call site, so the site is found among
/// the breaker's: the one that makes a single attempt. On a breaker shared by several such fns
/// the site cannot be told and no edge is recorded.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn start_single(breaker: &Breaker) {
    if let Some(outer) = CURRENT.with(Cell::get) {
        single_nested(outer, breaker);
    }
}

#[cold]
#[inline(never)]
fn single_nested(outer: NestingScope, breaker: &Breaker) {
    let Some(outer_site) = outer.outer() else {
        return;
    };
    let _ = edge(outer_site, address(breaker), || {
        let mut singles = registry::CALL_SITES
            .iter()
            .filter(|s| std::ptr::eq(s.breaker(), breaker) && s.policy().attempts() == 1);
        match (singles.next(), singles.next()) {
            (Some(site), None) => Some((site, outer_site.policy().attempts())),
            _ => None,
        }
    });
}

/// The edge from `outer` to the inner call keyed by `inner_key`, looked up in this thread's
/// cache first; `inner` finds the inner site and the worst case when it is not cached.
fn edge(
    outer: &'static CallSite,
    inner_key: usize,
    inner: impl FnOnce() -> Option<(&'static CallSite, u32)>,
) -> Option<&'static NestingEdge> {
    let key = (address(outer), inner_key);
    if let Ok(Some((o, i, edge))) = LAST_EDGE.try_with(Cell::get)
        && (o, i) == key
    {
        return edge;
    }
    let edge = inner().map(|(site, worst_case)| registry::observe_edge(outer, site, worst_case));
    let _ = LAST_EDGE.try_with(|last| last.set(Some((key.0, key.1, edge))));
    edge
}

/// Where a static lives: what identifies a call site or a breaker in the cache.
fn address<T>(item: &T) -> usize {
    item as *const T as usize
}
