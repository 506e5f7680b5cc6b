//! `#[cfg]` and `#[cfg_attr]` on the parameters of a retrying fn: each attempt's copy of an
//! argument exists exactly when the parameter does.
#![deny(warnings)]

use std::sync::atomic::{AtomicU32, Ordering};

use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

static SYNC_TRIES: AtomicU32 = AtomicU32::new(0);
static ASYNC_TRIES: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(attempts = 3, retry = "per_attempt", backoff = "0ms")]
pub fn sync_fetch(
    #[cfg(any())] extra: String,
    #[cfg(all())] kept: String,
    #[cfg(any())] extra_count: &mut u32,
    #[cfg_attr(all(), allow(unused_mut))] mut suffix: String,
) -> Result<String, Error> {
    suffix.push('!');
    match SYNC_TRIES.fetch_add(1, Ordering::Relaxed) {
        0 | 1 => Err(Error),
        _ => Ok(format!("{kept}{suffix}")),
    }
}

#[circuit_breaker(attempts = 3, retry = "per_call", backoff = "1ms")]
pub async fn async_fetch(
    #[cfg(any())] extra: String,
    #[cfg(all())] kept: String,
    #[cfg(all())] count: &mut u32,
) -> Result<String, Error> {
    *count += 1;
    match ASYNC_TRIES.fetch_add(1, Ordering::Relaxed) {
        0 => Err(Error),
        _ => Ok(kept),
    }
}

// Every argument an attempt would get its own copy of is configured out.
#[circuit_breaker(attempts = 2, retry = "per_attempt", backoff = "0ms")]
pub fn only_configured_out(
    #[cfg(any())] extra: String,
    #[cfg(any())] extra_count: &mut u32,
    id: &u32,
) -> Result<u32, Error> {
    Ok(*id)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(
        sync_fetch(String::from("kept"), String::from("?")).unwrap(),
        "kept?!"
    );
    assert_eq!(SYNC_TRIES.load(Ordering::Relaxed), 3);
    let mut count = 0;
    assert_eq!(
        async_fetch(String::from("kept"), &mut count).await.unwrap(),
        "kept"
    );
    assert_eq!(only_configured_out(&7).unwrap(), 7);
    assert_eq!((ASYNC_TRIES.load(Ordering::Relaxed), count), (2, 2));
}
