//! The table of armed faults, and the driver's one check of it.
//!
//! Armed faults live in one process-wide table keyed by the breaker's address. The driver asks it
//! once per attempt, right after the admission ([`take`]); while nothing is armed, that is one
//! relaxed load of a count. This file knows breakers only by address: the names the kit's
//! functions accept are resolved in `fault.rs`.

use std::any::{Any, type_name};
use std::fmt;
use std::sync::Arc;

use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};
use crate::{Breaker, Injectable, Name};

/// A breaker's key in the table.
pub(super) fn address(breaker: &Breaker) -> usize {
    std::ptr::from_ref(breaker) as usize
}

/// An error factory armed on a breaker; cloning it shares the factory.
#[derive(Clone)]
pub struct Fault(Arc<Factory>);

struct Factory {
    /// The breaker it was armed on, for the message of a factory of the wrong type.
    breaker: Name,
    /// The type of the errors it makes.
    makes: &'static str,
    make: Box<dyn Fn() -> Box<dyn Any> + Send + Sync>,
}

impl Fault {
    /// A new error from the factory, as the call's error type.
    ///
    /// # Panics
    ///
    /// When the factory makes errors of another type, with a message naming both.
    pub(crate) fn error<E: Injectable>(&self) -> E {
        match (self.0.make)().downcast::<E>() {
            Ok(error) => *error,
            Err(_) => panic!(
                "breakerbox::testing: the failure injected into breaker `{}` is a `{}`, but the \
                 call through it returns errors of type `{}`; give `fail_next` a factory that \
                 makes a `{}`",
                self.0.breaker,
                self.0.makes,
                type_name::<E>(),
                type_name::<E>(),
            ),
        }
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fault")
            .field("breaker", &self.0.breaker)
            .field("makes", &self.0.makes)
            .finish_non_exhaustive()
    }
}

/// Faults armed on one breaker.
struct Armed {
    breaker: usize,
    left: u32,
    fault: Fault,
}

static ARMED: Mutex<Vec<Armed>> = Mutex::new(Vec::new());

/// How many breakers have faults armed (entries of [`ARMED`]). Written under its lock, read
/// without it by the driver's one check.
static ARMED_BREAKERS: AtomicU64 = AtomicU64::new(0);

/// The table, whatever a panicking test left it in: every write leaves it consistent.
fn armed() -> MutexGuard<'static, Vec<Armed>> {
    ARMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn publish(armed: &[Armed]) {
    // Relaxed: the count only tells the driver whether to look; what it finds is read under the
    // lock, which orders it. A fault armed before a call (in program order, or across a spawn or a
    // join) is seen by it; one armed concurrently with a call may miss it, as it would anyway.
    ARMED_BREAKERS.store(armed.len() as u64, Ordering::Relaxed);
}

/// Arms `n` faults on the breaker at `at`, replacing what was armed on it; `n = 0` disarms it.
pub(super) fn arm<E: Any>(
    at: usize,
    breaker: Name,
    n: u32,
    error: impl Fn() -> E + Send + Sync + 'static,
) {
    let mut armed = armed();
    armed.retain(|a| a.breaker != at);
    if n > 0 {
        let fault = Fault(Arc::new(Factory {
            breaker,
            makes: type_name::<E>(),
            make: Box::new(move || Box::new(error()) as Box<dyn Any>),
        }));
        armed.push(Armed {
            breaker: at,
            left: n,
            fault,
        });
    }
    publish(&armed);
}

/// The faults left on the breaker at `at`.
pub(super) fn left(at: usize) -> u32 {
    armed()
        .iter()
        .find(|a| a.breaker == at)
        .map_or(0, |a| a.left)
}

/// Disarms every fault.
pub(super) fn clear() {
    let mut armed = armed();
    armed.clear();
    publish(&armed);
}

/// The fault the attempt just admitted through `breaker` returns instead of running, if one is
/// armed: the driver's one check.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn take(breaker: &Breaker) -> Option<Fault> {
    if ARMED_BREAKERS.load(Ordering::Relaxed) == 0 {
        return None;
    }
    take_armed(breaker)
}

#[cold]
#[inline(never)]
fn take_armed(breaker: &Breaker) -> Option<Fault> {
    let mut armed = armed();
    let at = armed.iter().position(|a| a.breaker == address(breaker))?;
    let entry = &mut armed[at];
    entry.left -= 1;
    let fault = entry.fault.clone();
    if entry.left == 0 {
        armed.swap_remove(at);
        publish(&armed);
    }
    Some(fault)
}
