//! The atomics the state machine is written against.
//!
//! Under `cfg(loom)` they are loom's, so the model checker explores every interleaving of the code
//! exactly as it ships; otherwise they are std's. Nothing else in the crate names `std::sync::atomic`
//! directly, nor
//! `std::sync::Mutex`.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// A fn that is `const` in the shipped build and plain under loom, whose atomics have no `const`
/// constructor: one body for both.
macro_rules! maybe_const {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$m])* $vis const fn $name($($arg: $ty),*) -> $ret $body
        #[cfg(loom)]
        $(#[$m])* $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use maybe_const;
