//! What `#[circuit_breaker]` and `#[shared_breaker]` expand to. Not a public API: names here change
//! without notice. Generated code reaches everything through this module, `core` and `std`
//! included, so a user crate that shadows `Result`, `Ok` or `core` still compiles.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::time::Duration;

// The helpers below are `#[inline(always)]` in an optimised build, where the call path needs them
// inlined, and only `#[inline]` in a debug build: there, each forced inline copies the helper into
// every annotated fn, to be compiled again for each, and compile time is what counts
// (`benches/compile_time.sh`).

pub use ::core;
// The names the expansion writes most, one segment away: fewer tokens for the attribute to make and
// for rustc to read and resolve in every annotated fn.
pub use ::core::option::Option::{None, Some};
pub use ::core::result::Result::{Err, Ok};
pub use ::core::{concat, file, line, module_path};
pub use ::linkme;
pub use ::std;

pub use crate::__breaker_register as register;

/// Puts a static in one of the registry's link-time slices. A macro of this crate rather than
/// `#[linkme::distributed_slice]` written in the expansion: `$crate` finds the slice whatever the
/// user's crate calls the facade, and a facade that cannot be found is one error (on the import
/// the expansion starts with), not a second one about `linkme`'s helper attribute.
///
/// It hands the static straight to the `macro_rules!` that `#[distributed_slice]` declared with
/// the slice (`CALL_SITES!`, `BREAKERS!`), as `linkme`'s element attribute does, without that
/// attribute: the attribute is a proc macro run once per annotated fn, and adds a fn with two
/// closures that only checks the element's type, which is always the slice's here. Together they
/// were a third of the compile time of an annotated fn (`benches/compile_time.sh`). The protocol
/// is `linkme` 0.3's (`#![linkme_macro = path]`, then the item); a `linkme` that changed it would
/// fail to compile every annotated fn, loudly, never register one silently wrong.
#[doc(hidden)]
#[macro_export]
macro_rules! __breaker_register {
    ($slice:ident, $name:ident: $ty:ty = $value:expr) => {
        $crate::__private::$slice! {
            #![linkme_macro = $crate::__private::$slice]
            static $name: $ty = $value;
        }
    };
}

/// Starts a call of a retrying annotated fn at its registered call site (R12 names it in nesting
/// edges). A macro, like [`register`], so that a facade the compiler cannot find is reported once,
/// on the import, and not again for the call site the unexpanded `register!` did not declare.
#[doc(hidden)]
#[macro_export]
macro_rules! __breaker_call_at {
    ($site:ident) => {
        $crate::__private::Call::at(&$site)
    };
}

pub use crate::__breaker_call_at as call_at;
pub use crate::registry::{BREAKERS, CALL_SITES};
/// The retry driver the expansion runs a call with: not part of the public API.
pub use crate::retry::{AttemptScope, Call, Last, Next, Retrying, Step};
#[cfg(feature = "testing")]
pub use crate::testing::driver::{Attempted, Faulty, Prepared};
pub use crate::{
    Backoff, Breaker, Budget, CallPolicy, CallSite, Config, Granularity, Nested, Permit, Rejected,
    Reset, TimedOut, Verdict, Window,
};

/// What an attempt is started with: its `tracing` span and nesting scope, and with feature
/// `testing` the fault taken for it, which then stands in for the body (`Prepared`). Without the
/// feature it is the bare scope, so the call path carries nothing for the kit.
#[cfg(not(feature = "testing"))]
pub type AttemptSpan = AttemptScope;
/// What an attempt is started with: its `tracing` span and nesting scope, and with feature
/// `testing` the fault taken for it, which then stands in for the body.
#[cfg(feature = "testing")]
pub type AttemptSpan = Prepared;

/// An attempt's body as it runs: itself, or with feature `testing` behind the fault that may
/// stand in for it.
#[cfg(not(feature = "testing"))]
type Body<B> = B;
#[cfg(feature = "testing")]
type Body<B> = Faulty<B>;

/// What an attempt's body comes to: its output, or with feature `testing` that or the fault
/// injected in its place, which [`Shape::into_result`] turns into the call's error.
#[cfg(not(feature = "testing"))]
type Output<R> = R;
#[cfg(feature = "testing")]
type Output<R> = Attempted<R>;

/// Sleeps between blocking attempts.
pub fn sleep_blocking(wait: Duration) {
    std::thread::sleep(wait);
}

/// Bounds an async attempt by its `timeout`.
pub fn timeout<F: IntoFuture>(limit: Duration, attempt: F) -> tokio::time::Timeout<F::IntoFuture> {
    tokio::time::timeout(limit, attempt)
}

/// The return type of an annotated fn must be a `Result`; checked by type, so aliases such as
/// `io::Result<T>` pass.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs a fn that returns `Result<T, E>`, not `{Self}`",
    label = "this fn returns `{Self}`",
    note = "the breaker records `Err` as a failure; return a `Result` whose error type implements \
            `From<breakerbox::Rejected>`"
)]
pub trait IsResult {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// How the generated code converts between the fn's return type and a `Result`.
    type Shape: Copy;
    /// The one value of [`IsResult::Shape`].
    const SHAPE: Self::Shape;
}

impl<T, E> IsResult for Result<T, E> {
    type Ok = T;
    type Err = E;
    type Shape = Shape<T, E>;
    const SHAPE: Shape<T, E> = Shape(PhantomData);
}

/// How to take the fn's return type apart into a `Result` and put it back together.
///
/// The generated code names it once per call, as `<R as IsResult>::SHAPE`. A return type that is
/// not a `Result` is reported there, once, on the return type: the projection then has no type,
/// and rustc raises nothing more about the local that holds it. It is zero-sized, so an `async fn`
/// carries nothing for it across an `.await`, and its conversions are plain inlined calls.
// `fn(T, E)`: `Send` and `Sync` whatever `T` and `E` are, as a marker should be.
pub struct Shape<T, E>(PhantomData<fn(T, E)>);

impl<T, E> Clone for Shape<T, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, E> Copy for Shape<T, E> {}

impl<T, E> std::fmt::Debug for Shape<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shape")
    }
}

impl<T, E> Shape<T, E> {
    /// The attempt's outcome as a plain `Result` (the fn's return type is one).
    #[cfg(not(feature = "testing"))]
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn into_result(self, returned: Result<T, E>) -> Result<T, E> {
        returned
    }

    /// The attempt's outcome as a plain `Result` (the fn's return type is one): what the body
    /// returned, or the error injected in its place.
    #[cfg(feature = "testing")]
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn into_result(self, returned: Attempted<Result<T, E>>) -> Result<T, E>
    where
        E: crate::Injectable,
    {
        returned.into_result()
    }

    /// Settles an attempt of a call that retries: what [`Call::settle`] does, with the attempt's
    /// outcome taken as a plain `Result` (one call in the expansion instead of two).
    #[cfg_attr(not(debug_assertions), inline)]
    pub fn settle(
        self,
        call: &mut Call<'_>,
        returned: Output<Result<T, E>>,
        classify: fn(&E) -> Verdict,
    ) -> Next<T, E>
    where
        E: crate::Injectable,
    {
        call.settle(self.into_result(returned), classify)
    }

    /// An error the expansion makes itself (a rejection, a timeout) as the fn's return type. Every
    /// value the fn returns comes out of a method of its `Shape`: when the return type is not a
    /// `Result`, the `Shape` has no type, a method called on it gives none either, and rustc
    /// reports the `Shape` alone.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn err(self, error: E) -> Result<T, E> {
        Err(error)
    }
}

// The traits below are what rustc names when the user's code does not fit the expansion. The
// expansion reaches each through a call of its own method (`<E as HoldsRejection>::held(..)`), not
// through a bound on a helper fn: rustc then reports the missing impl on the user's token, without a
// "required by a bound in" note that would show this module. The facade re-exports them (hidden),
// so rustc prints their bare names. `#[diagnostic::do_not_recommend]` on a blanket impl makes rustc
// report the trait itself rather than the bound behind it, with its message, instead of listing
// every `From` impl of the user's type.

/// The error type must be able to carry a rejection (DESIGN rule 10).
#[diagnostic::on_unimplemented(
    message = "the error type `{Self}` cannot hold a `breakerbox::Rejected`",
    label = "`{Self}` needs `impl From<breakerbox::Rejected> for {Self}`",
    note = "when the breaker refuses a call, the fn returns `Err(Rejected.into())`; add a variant \
            such as `Unavailable(breakerbox::Rejected)` and implement `From<breakerbox::Rejected>`"
)]
pub trait HoldsRejection: Sized {
    /// The rejection as this error.
    fn held(rejected: Rejected) -> Self;
}

#[diagnostic::do_not_recommend]
impl<E: From<Rejected>> HoldsRejection for E {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn held(rejected: Rejected) -> E {
        E::from(rejected)
    }
}

/// The error type must be able to carry an attempt timeout when `timeout` is set.
#[diagnostic::on_unimplemented(
    message = "the error type `{Self}` cannot hold a `breakerbox::TimedOut`",
    label = "`{Self}` needs `impl From<breakerbox::TimedOut> for {Self}` because `timeout` is set",
    note = "an attempt that misses its `timeout` returns `Err(TimedOut.into())`; add a variant such \
            as `TimedOut(breakerbox::TimedOut)` and implement `From<breakerbox::TimedOut>`"
)]
pub trait HoldsTimeout: Sized {
    /// The timeout as this error.
    fn held(timed_out: TimedOut) -> Self;
}

#[diagnostic::do_not_recommend]
impl<E: From<TimedOut>> HoldsTimeout for E {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn held(timed_out: TimedOut) -> E {
        E::from(timed_out)
    }
}

/// A by-value argument is handed to each attempt, so with `attempts > 1` it must be `Clone`
/// (DESIGN rule 9). Its blanket impl stays recommended: rustc then names `Clone` and suggests the
/// derive.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed by value to a fn that retries, so it must implement `Clone`",
    label = "each attempt but the last gets a clone of this argument",
    note = "derive or implement `Clone` for `{Self}`, take the argument by reference, or set \
            `attempts = 1`"
)]
pub trait RetryArg: Sized {
    /// The argument for the attempt now running, taken from `slot`: a clone for every attempt but
    /// the last, which gets the original.
    fn next(slot: &mut Option<Self>, last: bool) -> Self;
}

impl<T: Clone> RetryArg for T {
    fn next(slot: &mut Option<T>, last: bool) -> T {
        match slot {
            Some(arg) if !last => arg.clone(),
            _ => slot
                .take()
                .expect("breaker: an argument was used after the last attempt"),
        }
    }
}

/// What a `classify` fn returns must be a [`Verdict`].
#[diagnostic::on_unimplemented(
    message = "`classify` returns `{Self}`, but the breaker asks it for a `breakerbox::Verdict`",
    label = "expected a fn `fn(&{E}) -> breakerbox::Verdict`",
    note = "a classifier says what each error means: write `fn classify(error: &{E}) -> \
            breakerbox::Verdict`, returning `Verdict::Transient`, `Verdict::Permanent` or \
            `Verdict::Ignore`"
)]
pub trait IsVerdict<E>: Sized {
    /// The verdict on `error`.
    fn verdict(error: &E, returned: Self) -> Verdict;
}

#[diagnostic::do_not_recommend]
impl<E> IsVerdict<E> for Verdict {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn verdict(_: &E, returned: Verdict) -> Verdict {
        returned
    }
}

/// What a `classify` fn takes must be a reference to the fn's error type.
#[diagnostic::on_unimplemented(
    message = "`classify` takes `{A}`, but the fn's error type is `{Self}`",
    label = "expected a fn `fn(&{Self}) -> breakerbox::Verdict`",
    note = "a classifier says what each error means: write `fn classify(error: &{Self}) -> \
            breakerbox::Verdict`, returning `Verdict::Transient`, `Verdict::Permanent` or \
            `Verdict::Ignore`"
)]
pub trait ClassifyArg<'e, A> {
    /// The error as the classifier's argument.
    fn arg(error: &'e Self) -> A;
}

#[diagnostic::do_not_recommend]
impl<'e, E> ClassifyArg<'e, &'e E> for E {
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn arg(error: &'e E) -> &'e E {
        error
    }
}

/// Never built. A second impl of [`ClassifyArg`], so that rustc takes the argument type from the
/// `classify` fn, and reports a mismatch through the trait, instead of inferring it from the one
/// impl and reporting a type mismatch on the call.
#[derive(Debug)]
pub struct NotAnArgument(());

#[diagnostic::do_not_recommend]
impl<E> ClassifyArg<'_, NotAnArgument> for E {
    fn arg(_: &E) -> NotAnArgument {
        NotAnArgument(())
    }
}

/// Runs one async attempt inside its span, if there is one, and in the nesting scope of its call
/// when the call retries (R12). Naming the fn's return type `R` here gives the attempt's `async`
/// block its output type, so `?` and `return` in the body infer as they do in the fn. The span
/// comes first: the expansion asks for it before it builds the body, so nothing needs to drop
/// the body should asking unwind.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn attempt<R, F: Future<Output = R>>(span: AttemptSpan, attempt: F) -> Attempt<Body<F>> {
    #[cfg(feature = "testing")]
    let (attempt, span) = (Faulty::new(attempt, span.fault), span.scope);
    Attempt {
        inner: attempt,
        scope: span,
    }
}

pin_project_lite::pin_project! {
    /// An attempt's future, entered into its `tracing` span on every poll when DEBUG is on, and
    /// into its call's nesting scope when the call retries. Unlike `tracing::Instrumented`, it
    /// holds no span at all when DEBUG is off, which keeps the common case as small and cheap as
    /// the bare future.
    #[derive(Debug)]
    pub struct Attempt<F> {
        #[pin]
        inner: F,
        scope: AttemptScope,
    }
}

impl<F: Future> Future for Attempt<F> {
    type Output = F::Output;

    #[cfg_attr(not(debug_assertions), inline)]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        // This fn is compiled once per annotated fn: what does not need `F` is in the guard,
        // compiled once.
        let this = self.project();
        // An optimised build inlines each case of the scope (the common one, a call that does not
        // retry with DEBUG off, enters nothing but the panic guard, which costs nothing); a debug
        // build enters through guards compiled once, not once per annotated fn.
        #[cfg(not(debug_assertions))]
        return this.scope.run(|| this.inner.poll(cx));
        // Polled inside the panic guard: a panic out of the attempt marks the thread, so its
        // permit, dropped on the way, records a failure rather than a cancellation (R3).
        #[cfg(debug_assertions)]
        {
            let entered = this.scope.enter();
            let polled = this.inner.poll(cx);
            entered.returned();
            polled
        }
    }
}

/// An attempt without a span or a fault, in its call's nesting scope and the panic guard: what
/// [`CallPolicy::run`] runs its operation's futures as.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn scoped_attempt<F: Future>(attempt: F, scope: AttemptScope) -> Attempt<F> {
    Attempt {
        inner: attempt,
        scope,
    }
}

/// Runs one blocking attempt inside its span and scope; see [`attempt`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn attempt_blocking<R, F: FnOnce() -> R>(attempt: F, span: &AttemptSpan) -> Output<R> {
    #[cfg(feature = "testing")]
    let (attempt, span) = {
        let faulty = Faulty::new(attempt, span.fault.clone());
        (move || faulty.call(), &span.scope)
    };
    #[cfg(not(debug_assertions))]
    return span.run(attempt);
    #[cfg(debug_assertions)]
    {
        let entered = span.enter();
        let returned = attempt();
        entered.returned();
        returned
    }
}

/// Admits a call that makes one attempt; the expansion turns a refusal into the fn's error
/// through [`HoldsRejection`]. Such a call opens no nesting scope; inside one, it is recorded as
/// nested (R12).
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn admit(breaker: &Breaker) -> Result<Permit<'_>, Rejected> {
    crate::retry::start_single(breaker);
    match breaker.try_acquire() {
        Ok(permit) => Ok(permit.driven()),
        Err(rejected) => Err(rejected),
    }
}

/// Asks the call's breaker for the next attempt of a call that retries, and says whether that
/// attempt is the call's last, for the expansion to hand it the original arguments.
#[cfg_attr(not(debug_assertions), inline)]
pub fn admit_next(call: &mut Call<'_>) -> Result<bool, Rejected> {
    call.admit()?;
    Ok(call.is_last())
}

/// Asks the call's breaker for the next attempt of a call that retries.
#[cfg_attr(not(debug_assertions), inline)]
pub fn admit_attempt(call: &mut Call<'_>) -> Result<(), Rejected> {
    call.admit()
}

/// Records the outcome of a call that makes one attempt.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn settle<T, E>(permit: Permit<'_>, result: &Result<T, E>, classify: fn(&E) -> Verdict) {
    match result {
        Ok(_) => permit.success(),
        Err(error) => permit.record(classify(error)),
    }
}

/// Settles the only attempt of a call that missed its `timeout`: a failure (R3). The expansion
/// turns the timeout into the fn's error through [`HoldsTimeout`].
pub fn settle_timeout_single(permit: Permit<'_>, after: Duration) -> TimedOut {
    permit.timeout();
    TimedOut::new(after)
}

/// The span of the attempt of `call` now running. Not inlined into the expansion in a debug
/// build: `Call::span` is, and its level check would be compiled again for every annotated fn.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn span(call: &Call<'_>) -> AttemptSpan {
    call.span()
}

/// The scope of the only attempt of a call, asked for once, right after its admission; such a
/// call opens no nesting scope. With feature `testing`, also the fault taken for it. Not inlined
/// into the expansion in a debug build, for the same reason as [`span`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn attempt_span(breaker: &Breaker) -> AttemptSpan {
    let scope = crate::retry::attempt_scope(breaker, 1, 1, None);
    #[cfg(feature = "testing")]
    let scope = Prepared::new(scope, breaker);
    scope
}

/// The classifier of a fn without `classify`: every error is [`Verdict::Transient`]. Here, and
/// not [`Verdict::transient`], so that its copy for each error type is compiled in a codegen unit
/// the expansion's other helpers already need.
pub fn transient<E>(_: &E) -> Verdict {
    Verdict::Transient
}

/// The `classify` fn as the pointer [`Call::settle`] takes. The expansion passes a closure that
/// calls the user's fn through [`ClassifyArg`] and [`IsVerdict`], so a fn of another signature is
/// reported on the `classify` path, with the signature to write.
#[cfg_attr(debug_assertions, inline)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn classifier<T, E>(_: &Shape<T, E>, classify: fn(&E) -> Verdict) -> fn(&E) -> Verdict {
    classify
}
