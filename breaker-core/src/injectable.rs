//! The one bound the test kit puts on a call's error type. It exists in every build, so that no
//! signature changes with the `testing` feature; only what implements it does.

/// What a call's error type must be for the test kit to put an injected error in place of an
/// attempt (see `testing::fail_next`, feature `testing`).
///
/// Every type implements it, unless feature `testing` is on: then every `'static` type does,
/// because the kit checks an injected error against the call's error type at run time with
/// [`Any`](std::any::Any). An annotated fn or a [`CallPolicy::run`](crate::CallPolicy::run) call
/// whose error type borrows (`Error<'a>`, or a generic `E` not bound by `'static`) compiles
/// without the feature and not with it; generic code that calls
/// [`CallPolicy::run`](crate::CallPolicy::run) can say `E: Injectable` to compile in both.
#[cfg(not(all(feature = "testing", not(loom))))]
pub trait Injectable {}

#[cfg(not(all(feature = "testing", not(loom))))]
impl<E: ?Sized> Injectable for E {}

/// What a call's error type must be for the test kit to put an injected error in place of an
/// attempt (see [`testing::fail_next`](crate::testing::fail_next)).
///
/// Every type implements it, unless feature `testing` is on (it is, in this build): then every
/// `'static` type does, because the kit checks an injected error against the call's error type at
/// run time with [`Any`](std::any::Any). An annotated fn or a
/// [`CallPolicy::run`](crate::CallPolicy::run) call whose error type borrows (`Error<'a>`, or a
/// generic `E` not bound by `'static`) compiles without the feature and not with it; generic code
/// that calls [`CallPolicy::run`](crate::CallPolicy::run) can say `E: Injectable` to compile in
/// both.
#[cfg(all(feature = "testing", not(loom)))]
pub trait Injectable: std::any::Any {}

#[cfg(all(feature = "testing", not(loom)))]
impl<E: std::any::Any + ?Sized> Injectable for E {}
