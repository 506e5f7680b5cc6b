//! The `#[circuit_breaker]` and `#[shared_breaker]` attributes of the
//! [`breakerbox`](https://docs.rs/breakerbox) crate; see its documentation for both.
//!
//! Three phases, one file each: `args` parses the keys into typed values, `validate` checks them
//! together and against the item, `expand` writes code from the validated data. On any error the
//! item is emitted as written beside the errors, so callers still type-check.
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms
)]
#![forbid(unsafe_code)]

mod args;
mod expand;
mod limits;
mod validate;

use proc_macro::TokenStream;

/// Puts a fn behind a circuit breaker, with optional retry; see the `breakerbox` crate.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    match validate::circuit_breaker(args.into(), item.into()) {
        Ok(valid) => expand::circuit_breaker(valid),
        Err(invalid) => expand::invalid(invalid),
    }
    .into()
}

/// Declares a breaker that several `#[circuit_breaker(shared = NAME)]` fns share; see the
/// `breakerbox` crate.
#[proc_macro_attribute]
pub fn shared_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    match validate::shared_breaker(args.into(), item.into()) {
        Ok(valid) => expand::shared_breaker(valid),
        Err(invalid) => expand::invalid(invalid),
    }
    .into()
}
