//! The test kit (feature `testing`): isolation of tests that touch breakers, deterministic jitter,
//! and injected failures, to test a program's fallback paths without a failing server.
//!
//! Enable it for tests only, in `[dev-dependencies]`; without it the call path carries no hook at
//! all (no field, no load, no branch).
//!
//! Everything here is **process-wide**, as the registry is: breakers live in statics, and cargo
//! runs a binary's tests on parallel threads. A test that touches breakers holds [`isolate`]'s
//! guard, which runs such tests one at a time and starts and ends each with every breaker reset,
//! no fault armed and jitter random.
//!
//! - [`reset_all`] resets every breaker of the registry ([`Breaker::reset`](crate::Breaker::reset)
//!   resets one): closed, every count empty.
//! - [`isolate`] serializes the tests that take it and resets around each.
//! - [`set_jitter`] pins the jittered waits to the backoff ([`Jitter::Max`]) or to zero
//!   ([`Jitter::Min`]), so a test with paused time can assert the exact time a call took.
//! - [`fail_next`] makes the next `n` attempts through a breaker fail with an error of yours,
//!   without running the body, recorded and retried as that error would be.
//!
//! ```
//! use std::time::Duration;
//! use breaker_core::{Backoff, Breaker, CallPolicy, Config, Granularity, Rejected, State, TimedOut, Verdict};
//! use breaker_core::testing::{self, Jitter};
//!
//! #[derive(Debug, PartialEq)]
//! enum Error { Down, Rejected, TimedOut }
//! impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error::Rejected } }
//! impl From<TimedOut> for Error { fn from(_: TimedOut) -> Self { Error::TimedOut } }
//!
//! static API: Breaker = Breaker::new(Config::new("kit.api")); // threshold 5
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), breaker_core::ConfigError> {
//! let _guard = testing::isolate();
//! testing::set_jitter(Jitter::Max);
//! testing::fail_next(&API, 2, || Error::Down);
//!
//! let policy = CallPolicy::builder()
//!     .attempts(3)
//!     .retry(Granularity::PerAttempt)
//!     .backoff(Backoff::Fixed(Duration::from_millis(100)))
//!     .build()?;
//! let start = tokio::time::Instant::now();
//! let result = policy.run(&API, Verdict::transient, || async { Ok::<_, Error>("fresh") }).await;
//! assert_eq!(result, Ok("fresh"));
//! assert_eq!(start.elapsed(), Duration::from_millis(200)); // two waits of exactly 100 ms
//! let m = API.metrics();
//! assert_eq!((m.admitted, m.failures, m.successes, m.retries), (3, 2, 1, 2));
//! assert_eq!(API.state(), State::Closed);
//! # Ok(())
//! # }
//! ```

// The table of armed faults and the driver's check of it know breakers only; the kit's functions
// (`fault`) resolve names through the registry.
mod armed;
// The glue the driver and the expansion use, reached through `__private` only.
pub(crate) mod driver;
mod fault;
mod jitter;

use crate::sync::{Mutex, MutexGuard};

pub(crate) use self::armed::take;
pub use self::fault::{Target, clear_faults, fail_next, faults_left};
pub(crate) use self::jitter::pinned as pinned_jitter;
pub use self::jitter::{Jitter, set_jitter};

/// Resets every breaker in the [`registry`](crate::registry()): the attributes' and those
/// [registered](crate::Registry::register) at run time. Each is closed with empty counts, as
/// [`Breaker::reset`](crate::Breaker::reset) leaves it (one transition, reason `reset`, each). A
/// breaker built at run time and not registered is not listed, and not reset.
pub fn reset_all() {
    for breaker in crate::registry().iter() {
        breaker.reset();
    }
}

/// Isolates a test from the others that take it: returns a guard that only one thread of the
/// process holds at a time, and makes a clean slate when taken and again when dropped: every
/// breaker [reset](reset_all), every fault [disarmed](clear_faults), jitter back to
/// [`Jitter::Random`].
///
/// Cargo runs a test binary's tests on parallel threads, and breakers are process-wide: two tests
/// that touch one breaker (or count on the registry's totals, or on jitter) would see each other's
/// calls. Take the guard first in each such test; tests that do not take it are not held back, and
/// are not kept out. A test that panics while holding it does not wedge the next: the guard is
/// dropped as it unwinds (a clean slate again), and the next test takes it despite the panic.
///
/// Take it once per test: a second `isolate` on a thread that holds the guard waits forever. It
/// is `!Send` (hold it in the test's own thread or task, as `#[tokio::test]` does).
///
/// ```
/// use breaker_core::{Breaker, Config, Metrics, testing};
///
/// static DB: Breaker = Breaker::new(Config::new("isolate.db"));
///
/// // In each test that touches `DB`:
/// let _guard = testing::isolate();
/// assert_eq!(DB.metrics(), Metrics::default()); // whatever the tests before it did
/// DB.try_acquire().unwrap().failure();
/// assert_eq!(DB.metrics().failures, 1);
/// ```
pub fn isolate() -> Isolation {
    static SERIAL: Mutex<()> = Mutex::new(());
    let serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    clean_slate();
    Isolation { _serial: serial }
}

/// The guard of [`isolate`]: while it lives, no other test that takes one runs; dropped, it
/// resets every breaker, disarms every fault and sets jitter back to random.
#[must_use = "the test is isolated only while the guard lives: bind it, `let _guard = isolate();`"]
pub struct Isolation {
    _serial: MutexGuard<'static, ()>,
}

impl Drop for Isolation {
    fn drop(&mut self) {
        // Before the lock is released (fields drop after this), so the next test starts clean.
        clean_slate();
    }
}

impl std::fmt::Debug for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolation").finish_non_exhaustive()
    }
}

fn clean_slate() {
    clear_faults();
    set_jitter(Jitter::Random);
    reset_all();
}
