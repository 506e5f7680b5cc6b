//! The right to make one call, given back exactly once.

use std::fmt;

use crate::{Breaker, Verdict};

/// Whether a permit holds a half-open slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PermitKind {
    /// Admitted by a closed or disabled breaker: no slot to give back.
    Passing,
    /// One of the `probes` trial calls of a half-open round.
    Probe,
}

/// Admission to make one call, from [`Breaker::try_acquire`].
///
/// Record the outcome with [`success`](Permit::success), [`failure`](Permit::failure),
/// [`ignore`](Permit::ignore) or [`record`](Permit::record). A permit dropped without a record is a
/// cancelled call: nothing is recorded and a half-open slot is given back. A permit dropped while
/// its thread panics records a failure, so a panicking call still counts (R3).
///
/// The permit carries the generation it was admitted in: an outcome recorded after the breaker
/// changed state is dropped and counted as `late` (R5).
#[must_use = "a permit records nothing until its outcome is given; dropping it is a cancellation"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    generation: u32,
    kind: PermitKind,
    settled: bool,
}

impl<'a> Permit<'a> {
    pub(crate) fn new(breaker: &'a Breaker, generation: u32, kind: PermitKind) -> Permit<'a> {
        Permit {
            breaker,
            generation,
            kind,
            settled: false,
        }
    }

    /// Whether this is a half-open trial call. A `per_call` retry makes one attempt only on a
    /// probe, so a probe is never amplified (R2).
    pub fn is_probe(&self) -> bool {
        self.kind == PermitKind::Probe
    }

    /// The breaker that issued it.
    pub fn breaker(&self) -> &'a Breaker {
        self.breaker
    }

    /// Records a success.
    #[inline]
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.on_success(self.generation, self.kind);
    }

    /// Records a failure.
    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.on_failure(self.generation, self.kind, false);
    }

    /// Records a failure that was an attempt timeout: counted in `failures` and `timeouts`.
    pub fn timeout(mut self) {
        self.settled = true;
        self.breaker.on_failure(self.generation, self.kind, true);
    }

    /// Records nothing, counts the outcome as ignored, and gives a half-open slot back.
    pub fn ignore(mut self) {
        self.settled = true;
        self.breaker.on_ignore(self.generation, self.kind);
    }

    /// Records an error by its verdict: [`Verdict::Ignore`] is [`ignore`](Permit::ignore), the
    /// others are [`failure`](Permit::failure).
    pub fn record(self, verdict: Verdict) {
        match verdict {
            Verdict::Transient | Verdict::Permanent => self.failure(),
            Verdict::Ignore => self.ignore(),
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if std::thread::panicking() {
            self.breaker.on_failure(self.generation, self.kind, false);
        } else {
            self.breaker.on_cancel(self.generation, self.kind);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("generation", &self.generation)
            .field("probe", &self.is_probe())
            .finish()
    }
}
