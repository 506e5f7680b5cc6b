//! Every breaker of the process, from its start.
//!
//! Registration happens at link time with `linkme`: each `#[circuit_breaker]` fn puts its
//! [`CallSite`] (which points at its breaker) in one distributed slice, and each
//! `#[shared_breaker]` its `&'static Breaker` in another, so a shared breaker no fn uses yet is
//! listed too; the linker gathers each slice into one array. We chose `linkme` over `inventory`
//! because the slice exists before `main` without running any code before `main` (no life-before-
//! main constructors) and reading it allocates nothing; `inventory` builds a linked list from
//! constructors that run at startup. The registry itself (sorted, checked for duplicate names) is
//! built on first use.

use std::fmt;
use std::sync::OnceLock;

use crate::config::{Location, TripPolicy};
use crate::events::{self, Events};
use crate::{Breaker, CallPolicy, State};

/// Every `#[shared_breaker]` of the program; filled by the linker. (A per-fn breaker is found
/// through its call site.)
#[doc(hidden)]
#[linkme::distributed_slice]
pub static BREAKERS: [&'static Breaker];

/// Every annotated function; filled by the linker.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CALL_SITES: [CallSite];

/// One function that calls through a breaker, with its retry settings.
#[derive(Clone, Copy, Debug)]
pub struct CallSite {
    function: &'static str,
    file: &'static str,
    line: u32,
    policy: CallPolicy,
    breaker: &'static Breaker,
}

impl CallSite {
    #[doc(hidden)]
    pub const fn __new(
        function: &'static str,
        file: &'static str,
        line: u32,
        policy: CallPolicy,
        breaker: &'static Breaker,
    ) -> CallSite {
        CallSite {
            function,
            file,
            line,
            policy,
            breaker,
        }
    }

    /// The function's path, such as `my_app::client::fetch_user`.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Where it is defined.
    pub fn location(&self) -> Location {
        Location {
            file: self.file,
            line: self.line,
        }
    }

    /// Its attempts, granularity, backoff and timeout.
    pub fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// The breaker its calls go through.
    pub fn breaker(&self) -> &'static Breaker {
        self.breaker
    }
}

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}:{}): {}",
            self.function, self.file, self.line, self.policy
        )
    }
}

/// The process-wide list of breakers; see [`registry`].
pub struct Registry {
    /// Sorted by name, names unique.
    breakers: Vec<&'static Breaker>,
}

/// The registry of every breaker declared with `#[circuit_breaker]` or `#[shared_breaker]`,
/// including those never called yet.
///
/// # Panics
///
/// On first use, if two breakers share a name: the message names both source locations. (Breakers
/// are only ever shared through `shared = PATH`.)
///
/// ```
/// // Lists every breaker, then prints a table of their states.
/// for b in breaker_core::registry().iter() {
///     println!("{} is {}", b.name(), b.state());
/// }
/// println!("{}", breaker_core::registry());
/// ```
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::collect)
}

impl Registry {
    fn collect() -> Registry {
        let mut breakers: Vec<&'static Breaker> = BREAKERS
            .iter()
            .copied()
            .chain(CALL_SITES.iter().map(CallSite::breaker))
            .collect();
        breakers.sort_by(|a, b| {
            a.name()
                .cmp(b.name())
                .then((*a as *const Breaker).cmp(&(*b as *const _)))
        });
        breakers.dedup_by(|a, b| std::ptr::eq(*a, *b));
        if let Some(pair) = breakers.windows(2).find(|w| w[0].name() == w[1].name()) {
            let at = |b: &Breaker| {
                b.config()
                    .location()
                    .map_or_else(|| "an unknown location".to_owned(), |l| l.to_string())
            };
            panic!(
                "two circuit breakers are named `{}`: one declared at {}, the other at {}; give one \
                 of them a different `name = \"...\"`, or share one breaker with `shared = PATH`",
                pair[0].name(),
                at(pair[0]),
                at(pair[1]),
            );
        }
        for breaker in &breakers {
            let sites: Box<[CallSite]> = CALL_SITES
                .iter()
                .filter(|site| std::ptr::eq(site.breaker, *breaker))
                .copied()
                .collect();
            let _ = breaker.sites.set(sites);
        }
        Registry { breakers }
    }

    /// Every breaker, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &'static Breaker> + '_ {
        self.breakers.iter().copied()
    }

    /// The breaker with this name.
    pub fn get(&self, name: &str) -> Option<&'static Breaker> {
        self.breakers
            .binary_search_by(|b| b.name().cmp(name))
            .ok()
            .map(|i| self.breakers[i])
    }

    /// How many breakers there are.
    pub fn len(&self) -> usize {
        self.breakers.len()
    }

    /// Whether the program declares no breaker.
    pub fn is_empty(&self) -> bool {
        self.breakers.is_empty()
    }

    /// Every state transition of every breaker from now on (see [`Events`]). Subscribing costs the
    /// callers nothing: transitions are sent to a bounded ring, never waited on.
    pub fn subscribe(&self) -> Events {
        events::subscribe()
    }
}

impl Breaker {
    /// The functions that call through this breaker: one for a per-function breaker, each sharing
    /// function for a `#[shared_breaker]`, none for a breaker built at run time.
    pub fn call_sites(&self) -> &[CallSite] {
        let _ = registry();
        self.sites.get().map_or(&[], |sites| sites)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.breakers.iter().map(|b| b.name()))
            .finish()
    }
}

/// A table: name, state, failures (or failure rate), rejected calls, time left open.
impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .breakers
            .iter()
            .map(|b| {
                let m = b.metrics();
                let failures = match b.config().policy() {
                    // Counts belong to a closed period; open, the breaker counts nothing.
                    _ if b.state() != State::Closed => "-".to_owned(),
                    TripPolicy::Consecutive { threshold } => {
                        format!("{}/{threshold} in a row", m.consecutive_failures)
                    }
                    TripPolicy::FailureRate { percent, .. } => {
                        let rate = (m.window_failures * 100)
                            .checked_div(m.window_calls)
                            .unwrap_or(0);
                        format!("{rate}% of {} (opens at {percent}%)", m.window_calls)
                    }
                };
                let open_for = match (b.state(), b.remaining_open()) {
                    (State::Open, Some(left)) => format!("{:.1}s", left.as_secs_f64()),
                    (State::ForcedOpen, _) => "until reset".to_owned(),
                    _ => "-".to_owned(),
                };
                [
                    b.name().to_owned(),
                    b.state().to_string(),
                    failures,
                    m.rejected.to_string(),
                    open_for,
                ]
            })
            .collect();
        let header = ["BREAKER", "STATE", "FAILURES", "REJECTED", "OPEN FOR"];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 5]| {
            let [a, b, c, d, e] = cells;
            let [wa, wb, wc, wd, _] = widths;
            writeln!(f, "{a:<wa$}  {b:<wb$}  {c:<wc$}  {d:>wd$}  {e}")
        };
        line(f, header)?;
        for row in &rows {
            line(f, [&row[0], &row[1], &row[2], &row[3], &row[4]])?;
        }
        Ok(())
    }
}
