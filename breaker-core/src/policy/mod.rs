//! Trip policies: when a closed breaker opens. A policy is a value the breaker owns and feeds
//! with outcomes and their generation; it answers whether to open, and never sees the breaker.

pub(crate) mod window;
