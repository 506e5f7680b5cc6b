//! Nested calls observed at run time (R12): each pair (outer call site, inner call site) once,
//! with the worst-case requests the inner fn's service receives per outer call.
//!
//! The edges form an append-only list that lives as long as the process: a reader walks it with
//! acquire loads and no lock; a new edge is allocated once, the first time its nesting is seen,
//! and appended at the end with `OnceLock::get_or_init`, so two threads that see the same new
//! nesting at once record it once. Nothing is ever removed, so every edge is `'static`.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{CallSite, Registry};

/// One annotated fn seen running inside an attempt of another, retrying one (R12), from
/// [`Registry::edges`].
///
/// `worst_case` is the product of the attempts that apply: the outer call's attempts times the
/// inner call's (one, unless the inner fn says `nested = "retry"`). An outer fn of 3 attempts
/// calling an inner fn of 3 attempts is 3 requests to the inner fn's service per outer call, or 9
/// with `nested = "retry"`. Along a chain of nested fns, the requests per call of the outermost
/// one are the product of the attempts that apply to every fn on the chain.
pub struct NestingEdge {
    outer: &'static CallSite,
    inner: &'static CallSite,
    worst_case: u32,
    suppressed: AtomicU64,
    next: OnceLock<Box<NestingEdge>>,
}

/// The first edge; each edge holds the next.
static FIRST: OnceLock<Box<NestingEdge>> = OnceLock::new();

impl NestingEdge {
    /// The retrying fn whose attempt was running.
    pub fn outer(&self) -> &'static CallSite {
        self.outer
    }

    /// The annotated fn called inside that attempt.
    pub fn inner(&self) -> &'static CallSite {
        self.inner
    }

    /// The most requests the inner fn's service receives per call of the outer fn, budget aside:
    /// the outer fn's attempts times the inner fn's attempts that apply when nested.
    pub fn worst_case(&self) -> u32 {
        self.worst_case
    }

    /// Inner calls that ended after one failed attempt they would have retried outside the outer
    /// fn: the retries this nesting saved the service.
    pub fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    pub(crate) fn count_suppressed(&self) {
        // Relaxed: a statistic; it orders nothing.
        self.suppressed.fetch_add(1, Ordering::Relaxed);
    }

    fn is(&self, outer: &CallSite, inner: &CallSite) -> bool {
        std::ptr::eq(self.outer, outer) && std::ptr::eq(self.inner, inner)
    }
}

impl fmt::Debug for NestingEdge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NestingEdge")
            .field("outer", &self.outer.function())
            .field("inner", &self.inner.function())
            .field("worst_case", &self.worst_case)
            .field("suppressed", &self.suppressed())
            .finish()
    }
}

/// `outer -> inner: up to 9 requests per outer call`.
impl fmt::Display for NestingEdge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {}: up to {} requests per outer call",
            self.outer.function(),
            self.inner.function(),
            self.worst_case
        )
    }
}

/// The edge of this nesting, recorded the first time it is seen.
pub(crate) fn observe(
    outer: &'static CallSite,
    inner: &'static CallSite,
    worst_case: u32,
) -> &'static NestingEdge {
    let mut slot: &'static OnceLock<Box<NestingEdge>> = &FIRST;
    loop {
        let mut recorded = false;
        let edge: &'static NestingEdge = slot.get_or_init(|| {
            recorded = true;
            Box::new(NestingEdge {
                outer,
                inner,
                worst_case,
                suppressed: AtomicU64::new(0),
                next: OnceLock::new(),
            })
        });
        if recorded {
            announce(edge);
        }
        if edge.is(outer, inner) {
            return edge;
        }
        slot = &edge.next;
    }
}

#[cold]
fn announce(edge: &NestingEdge) {
    tracing::debug!(
        target: "breakerbox",
        outer = edge.outer.function(),
        inner = edge.inner.function(),
        worst_case = edge.worst_case,
        "nested call recorded: {edge}"
    );
}

impl Registry {
    /// Every nesting observed so far (R12), in the order first seen: an annotated fn called inside
    /// an attempt of another, retrying one, with its worst-case requests per outer call.
    ///
    /// Only nestings whose two fns are known are recorded: annotated fns, and calls made through
    /// [`CallSite::run`]; a call through [`CallPolicy::run`](crate::CallPolicy::run) has no call
    /// site and is not recorded (it is still nested).
    pub fn edges(&self) -> impl Iterator<Item = &'static NestingEdge> + '_ {
        std::iter::successors(FIRST.get().map(|first| &**first), |edge| {
            edge.next.get().map(|next| &**next)
        })
    }
}
