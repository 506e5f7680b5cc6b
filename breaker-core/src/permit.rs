//! The right to make one call, given back exactly once.

use std::fmt;
use std::mem::ManuallyDrop;

use crate::{Breaker, Verdict};

/// What a permit carries besides its breaker, packed in one word so a permit is two words and moves
/// in registers: the generation it was admitted in (bits 0..32), whether it holds a half-open slot
/// (bit 32), and the metrics slot of the admitting thread (bits 40..48), so recording the outcome
/// need not look the slot up again.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

const PROBE_BIT: u64 = 1 << 32;
const SLOT_SHIFT: u32 = 40;

impl Ticket {
    #[inline(always)]
    pub(crate) const fn new(generation: u32, probe: bool, slot: usize) -> Ticket {
        Ticket(
            generation as u64
                | if probe { PROBE_BIT } else { 0 }
                | ((slot as u64 & 0xff) << SLOT_SHIFT),
        )
    }

    #[inline(always)]
    pub(crate) const fn generation(self) -> u32 {
        self.0 as u32
    }

    #[inline(always)]
    pub(crate) const fn is_probe(self) -> bool {
        self.0 & PROBE_BIT != 0
    }

    #[inline(always)]
    pub(crate) const fn slot(self) -> usize {
        ((self.0 >> SLOT_SHIFT) & 0xff) as usize
    }
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
    ticket: Ticket,
}

impl<'a> Permit<'a> {
    #[inline(always)]
    pub(crate) fn new(breaker: &'a Breaker, ticket: Ticket) -> Permit<'a> {
        Permit { breaker, ticket }
    }

    /// Whether this is a half-open trial call. A `per_call` retry makes one attempt only on a
    /// probe, so a probe is never amplified (R2).
    pub fn is_probe(&self) -> bool {
        self.ticket.is_probe()
    }

    /// The breaker that issued it.
    pub fn breaker(&self) -> &'a Breaker {
        self.breaker
    }

    /// Takes the permit apart without running its `Drop`: the outcome methods settle it.
    #[inline(always)]
    fn settle(self) -> (&'a Breaker, Ticket) {
        let this = ManuallyDrop::new(self);
        (this.breaker, this.ticket)
    }

    /// Records a success.
    #[inline]
    pub fn success(self) {
        let (breaker, ticket) = self.settle();
        breaker.on_success(ticket);
    }

    /// Records a failure.
    pub fn failure(self) {
        let (breaker, ticket) = self.settle();
        breaker.on_failure(ticket, false);
    }

    /// Records a failure that was an attempt timeout: counted in `failures` and `timeouts`.
    pub fn timeout(self) {
        let (breaker, ticket) = self.settle();
        breaker.on_failure(ticket, true);
    }

    /// Records nothing, counts the outcome as ignored, and gives a half-open slot back.
    pub fn ignore(self) {
        let (breaker, ticket) = self.settle();
        breaker.on_ignore(ticket);
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
    /// Only a permit that was never settled gets here: a cancelled call, or a panic.
    #[inline]
    fn drop(&mut self) {
        self.breaker.on_unsettled(self.ticket);
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("generation", &self.ticket.generation())
            .field("probe", &self.is_probe())
            .finish()
    }
}
