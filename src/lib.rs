//! breaker: circuit breaker and retry for Rust functions, through one attribute.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use breaker_core::*;
pub use breaker_macros::{circuit_breaker, shared_breaker};
