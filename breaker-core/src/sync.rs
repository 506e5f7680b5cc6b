//! The atomics the state machine is written against.
//!
//! Under `cfg(loom)` they are loom's, so the model checker explores every interleaving of the code
//! exactly as it ships; otherwise they are std's. Nothing else in the crate names `std::sync::atomic`
//! directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
