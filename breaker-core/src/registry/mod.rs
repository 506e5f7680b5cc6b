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
//!
//! Two breakers with one name are a programming error, reported once: the registry is built and
//! stored with both, and only then does the first call of [`registry`] panic with both source
//! locations. Panicking inside the `OnceLock`'s initializer instead would leave it empty, and
//! every later use of the registry would panic again.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::config::{Budget, Location, TripPolicy};
mod duplicate;
mod edges;
#[cfg(feature = "metrics")]
mod export;
mod snapshot;

pub use self::duplicate::{DuplicateName, DuplicateNames};
pub use self::edges::NestingEdge;
pub(crate) use self::edges::observe as observe_edge;
#[cfg(feature = "metrics")]
pub use self::export::state_gauge;
pub use self::snapshot::{BreakerSnapshot, RestoreError, SNAPSHOT_FORMAT, Snapshot};
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
    /// The call site of an annotated fn, with the retry settings that `#[circuit_breaker]`
    /// checked at compile time (see [`CallPolicy::__attribute`]): one call in the `static`'s
    /// initialiser rather than two, for the compiler to check and evaluate once per annotated fn.
    /// Not a public API.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __attribute(
        function: &'static str,
        file: &'static str,
        line: u32,
        attempts: u32,
        granularity: crate::Granularity,
        backoff_ms: u64,
        backoff_cap_ms: u64,
        exponential: bool,
        jitter: bool,
        timeout_ms: u64,
        nested: crate::Nested,
        breaker: &'static Breaker,
    ) -> CallSite {
        let policy = CallPolicy::__attribute(
            attempts,
            granularity,
            backoff_ms,
            backoff_cap_ms,
            exponential,
            jitter,
            timeout_ms,
            nested,
        );
        CallSite::new(function, file, line, policy, breaker)
    }

    /// A call site for calls made by hand ([`CallSite::run`], [`CallSite::run_blocking`]), so
    /// that the nestings it takes part in are recorded under its name (R12). `const`, so it can
    /// initialise a `static`, which those methods need.
    ///
    /// It is not listed in [`Breaker::call_sites`], which lists annotated fns.
    ///
    /// ```
    /// use breaker_core::{Breaker, CallPolicy, CallSite, Config};
    ///
    /// static SEARCH: Breaker = Breaker::new(Config::new("search"));
    /// static QUERY: CallSite =
    ///     CallSite::new("my_app::query", file!(), line!(), CallPolicy::SINGLE, &SEARCH);
    /// assert_eq!(QUERY.function(), "my_app::query");
    /// ```
    pub const fn new(
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
    /// The breakers of the attributes, sorted by name, then by where each was declared (file, then
    /// line). A name appears twice only by mistake; see [`Registry::check`].
    breakers: Vec<&'static Breaker>,
    /// Whether some name appears twice, found once when the registry is built.
    duplicates: bool,
    /// Breakers built at run time and [registered](Registry::register), sorted by name; no name
    /// is in both lists.
    runtime: RwLock<Vec<&'static Breaker>>,
}

/// The registry of every breaker declared with `#[circuit_breaker]` or `#[shared_breaker]`,
/// including those never called yet.
///
/// # Panics
///
/// The first call panics if two breakers share a name, with a message that names both source
/// locations (breakers are only ever shared through `shared = PATH`). That call only: every later
/// call, on any thread, returns the registry, which lists both breakers and reports them through
/// [`Registry::check`].
///
/// ```
/// // Lists every breaker, then prints a table of their states.
/// for b in breaker_core::registry().iter() {
///     println!("{} is {}", b.name(), b.state());
/// }
/// println!("{}", breaker_core::registry());
/// ```
pub fn registry() -> &'static Registry {
    /// Set by the one call that reports duplicate names.
    static REPORTED: AtomicBool = AtomicBool::new(false);
    let registry = collected();
    // Relaxed: the swap only has to pick one caller; it publishes nothing (the registry is
    // published by its `OnceLock`).
    if registry.duplicates
        && !REPORTED.swap(true, Ordering::Relaxed)
        && let Err(duplicates) = registry.check()
    {
        panic!("{duplicates}");
    }
    registry
}

/// The registry, built on first use, without reporting duplicate names: what the crate itself
/// uses, so that only a call of [`registry`] reports them.
fn collected() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::collect)
}

/// Where a breaker was declared, as an order: by file, then line; a breaker built without a
/// location first.
fn declared_at(breaker: &Breaker) -> Option<(&'static str, u32)> {
    breaker.config().location().map(|l| (l.file, l.line))
}

impl Registry {
    fn collect() -> Registry {
        let mut breakers: Vec<&'static Breaker> = BREAKERS
            .iter()
            .copied()
            .chain(CALL_SITES.iter().map(CallSite::breaker))
            .collect();
        // The address last: it only sorts a breaker listed twice (a shared breaker is listed as
        // itself and through each call site) next to itself, to be removed below.
        breakers.sort_by(|a, b| {
            a.name()
                .cmp(b.name())
                .then_with(|| declared_at(a).cmp(&declared_at(b)))
                .then((*a as *const Breaker).cmp(&(*b as *const _)))
        });
        breakers.dedup_by(|a, b| std::ptr::eq(*a, *b));
        for breaker in &breakers {
            let sites: Box<[CallSite]> = CALL_SITES
                .iter()
                .filter(|site| std::ptr::eq(site.breaker, *breaker))
                .copied()
                .collect();
            let _ = breaker.sites.set(sites);
        }
        let duplicates = breakers.windows(2).any(|w| w[0].name() == w[1].name());
        Registry {
            breakers,
            duplicates,
            runtime: RwLock::new(Vec::new()),
        }
    }

    /// Lists a breaker built at run time beside the attributes' own: from now on it is in
    /// [`iter`](Registry::iter) and [`get`](Registry::get), the table, snapshots and the metrics
    /// export, and controllable like any other. It lives for the rest of the process, as a
    /// `static` does: the registry keeps it, and hands back a `&'static` reference to it (whose
    /// permits are `'static`).
    ///
    /// Two breakers with one name are refused: the error names the breaker already registered.
    ///
    /// ```
    /// use breaker_core::{Breaker, Config, registry};
    ///
    /// let name = String::from("inventory-eu"); // read from configuration
    /// let config = Config::builder("inventory").threshold(3).build()?;
    /// let inventory = registry().register(Breaker::new_named(name, config)).unwrap();
    /// inventory.try_acquire().unwrap().success();
    ///
    /// let listed = registry().get("inventory-eu").unwrap();
    /// assert_eq!(listed.metrics().successes, 1);
    /// assert!(registry().to_string().contains("inventory-eu"));
    /// // A second breaker under that name is refused.
    /// let again = Breaker::new_named(String::from("inventory-eu"), config);
    /// assert!(registry().register(again).is_err());
    /// # Ok::<(), breaker_core::ConfigError>(())
    /// ```
    pub fn register(
        &self,
        breaker: impl Into<Arc<Breaker>>,
    ) -> Result<&'static Breaker, DuplicateNames> {
        let breaker: Arc<Breaker> = breaker.into();
        let mut runtime = self
            .runtime
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = breaker.name();
        let taken = self
            .get_declared(name)
            .or_else(|| runtime.iter().copied().find(|b| b.name() == name));
        if let Some(taken) = taken {
            let both = [taken, &*breaker];
            return Err(DuplicateNames::find_among(&both));
        }
        // Kept for the rest of the process: the registry's reference is `'static`.
        let leaked: &'static Breaker = Box::leak(Box::new(breaker));
        let at = runtime.partition_point(|b| b.name() < leaked.name());
        runtime.insert(at, leaked);
        Ok(leaked)
    }

    /// Every breaker, the attributes' and the registered ones, sorted by name.
    fn all(&self) -> Vec<&'static Breaker> {
        let runtime = self
            .runtime
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if runtime.is_empty() {
            return self.breakers.clone();
        }
        let mut all: Vec<&'static Breaker> = self
            .breakers
            .iter()
            .chain(runtime.iter())
            .copied()
            .collect();
        all.sort_by(|a, b| {
            a.name()
                .cmp(b.name())
                .then_with(|| declared_at(a).cmp(&declared_at(b)))
        });
        all
    }

    /// The attributes' breaker with this name.
    fn get_declared(&self, name: &str) -> Option<&'static Breaker> {
        let first = self.breakers.partition_point(|b| b.name() < name);
        self.breakers
            .get(first)
            .copied()
            .filter(|b| b.name() == name)
    }

    /// Checks that no two breakers share a name: a programming error, since breakers are only
    /// ever shared through `shared = PATH`. The first call of [`registry`] panics with the same
    /// message; this is how a test of your own asserts there is none.
    ///
    /// Two methods named `get` in two `impl` blocks of one module share the default name
    /// `module_path::get`: give one of them `name = "..."`.
    ///
    /// ```
    /// // In a test of your program: every breaker has a name of its own. (With a duplicate, the
    /// // test fails either way: the first `registry()` call of the process panics with the
    /// // message, and a later one returns it here.)
    /// if let Err(duplicates) = breaker_core::registry().check() {
    ///     panic!("{duplicates}");
    /// }
    /// ```
    pub fn check(&self) -> Result<(), DuplicateNames> {
        match DuplicateNames::find(&self.breakers) {
            Some(duplicates) => Err(duplicates),
            None => Ok(()),
        }
    }

    /// Every breaker, the attributes' and those [registered](Registry::register) at run time,
    /// sorted by name (and breakers that share a name by where they were declared: file, then
    /// line).
    pub fn iter(&self) -> impl Iterator<Item = &'static Breaker> + '_ {
        // Without breakers built at run time (the usual case), the attributes' sorted list as it
        // is: listing allocates nothing. With them, one merged copy.
        let runtime_empty = self
            .runtime
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty();
        let merged = (!runtime_empty).then(|| self.all());
        let direct: &[&'static Breaker] = if runtime_empty { &self.breakers } else { &[] };
        direct.iter().copied().chain(merged.into_iter().flatten())
    }

    /// The breaker with this name. Of breakers that share a name (a mistake that
    /// [`check`](Registry::check) reports), the one declared first: by file, then line.
    pub fn get(&self, name: &str) -> Option<&'static Breaker> {
        self.get_declared(name).or_else(|| {
            let runtime = self
                .runtime
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let at = runtime.partition_point(|b| b.name() < name);
            runtime.get(at).copied().filter(|b| b.name() == name)
        })
    }

    /// How many breakers there are.
    pub fn len(&self) -> usize {
        let runtime = self
            .runtime
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.breakers.len() + runtime.len()
    }

    /// Whether there is no breaker.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let _ = collected();
        self.sites.get().map_or(&[], |sites| sites)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.all().iter().map(|b| b.name()))
            .finish()
    }
}

/// A table: name, state, failures (or failure rate), rejected calls, retries the budget denied
/// (`-` without a budget), time left open; then, when a nesting has been observed, one line per
/// edge with its worst case per outer call and the retries it suppressed.
///
/// ```text
/// BREAKER     STATE   FAILURES      REJECTED  RETRIES DENIED  OPEN FOR
/// app::page   closed  0/5 in a row         0               0  -
/// app::price  open    -                    4              12  28.7s
///
/// NESTED CALLS (outer -> inner)  WORST CASE PER OUTER CALL  RETRIES SUPPRESSED
/// app::page -> app::price                       3 requests                   2
/// ```
impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 6]> = self
            .all()
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
                let denied = match b.config().budget() {
                    Budget::Off => "-".to_owned(),
                    Budget::Percent(_) => m.retries_denied.to_string(),
                };
                [
                    b.name().to_owned(),
                    b.state().to_string(),
                    failures,
                    m.rejected.to_string(),
                    denied,
                    open_for,
                ]
            })
            .collect();
        let header = [
            "BREAKER",
            "STATE",
            "FAILURES",
            "REJECTED",
            "RETRIES DENIED",
            "OPEN FOR",
        ];
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, cells: [&str; 6]| {
            let [a, b, c, d, e, g] = cells;
            let [wa, wb, wc, wd, we, _] = widths;
            writeln!(f, "{a:<wa$}  {b:<wb$}  {c:<wc$}  {d:>wd$}  {e:>we$}  {g}")
        };
        line(f, header)?;
        for row in &rows {
            line(f, [&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]])?;
        }
        edges_table(self, f)
    }
}

/// The edges part of the table, when there are edges.
fn edges_table(registry: &Registry, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let rows: Vec<[String; 3]> = registry
        .edges()
        .map(|e| {
            let noun = if e.worst_case() == 1 {
                "request"
            } else {
                "requests"
            };
            [
                format!("{} -> {}", e.outer().function(), e.inner().function()),
                format!("{} {noun}", e.worst_case()),
                e.suppressed().to_string(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let header = [
        "NESTED CALLS (outer -> inner)",
        "WORST CASE PER OUTER CALL",
        "RETRIES SUPPRESSED",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let [wa, wb, wc] = widths;
    writeln!(f)?;
    let [a, b, c] = header;
    writeln!(f, "{a:<wa$}  {b:>wb$}  {c:>wc$}")?;
    for [a, b, c] in &rows {
        writeln!(f, "{a:<wa$}  {b:>wb$}  {c:>wc$}")?;
    }
    Ok(())
}
