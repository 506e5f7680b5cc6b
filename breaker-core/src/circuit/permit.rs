//! The right to make one call, given back exactly once.

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::Arc;

use crate::{Breaker, Verdict};

/// What a permit carries besides its breaker, packed in one word so a permit is two words and moves
/// in registers: the generation it was admitted in (bits 0..32), whether it holds a half-open slot
/// (bit 32), whether it was issued to a call run by this crate's driver (bit 33), which marks the
/// attempts it runs so that a panic from inside them can be told from one outside (R3), and, for a
/// breaker with a slow-call policy only, the low 30 bits of the millisecond it was admitted at
/// (bits 34..64), which time calls of up to 12 days.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

const PROBE_BIT: u64 = 1 << 32;
const DRIVEN_BIT: u64 = 1 << 33;
const START_SHIFT: u32 = 34;
const START_MASK: u64 = (1 << (64 - START_SHIFT)) - 1;

impl Ticket {
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) const fn new(generation: u32, probe: bool) -> Ticket {
        Ticket(generation as u64 | if probe { PROBE_BIT } else { 0 })
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) const fn generation(self) -> u32 {
        self.0 as u32
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) const fn is_probe(self) -> bool {
        self.0 & PROBE_BIT != 0
    }

    /// The same ticket, stamped with its admission time.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) const fn started_at(self, now: crate::clock::Millis) -> Ticket {
        Ticket(self.0 | ((now & START_MASK) << START_SHIFT))
    }

    /// Milliseconds since admission, at `now` (for a ticket stamped with `started_at`).
    pub(crate) const fn elapsed(self, now: crate::clock::Millis) -> crate::clock::Millis {
        (now & START_MASK).wrapping_sub(self.0 >> START_SHIFT) & START_MASK
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) const fn is_driven(self) -> bool {
        self.0 & DRIVEN_BIT != 0
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the retry driver, which loom leaves out
    #[cfg_attr(not(debug_assertions), inline(always))]
    const fn driven(self) -> Ticket {
        Ticket(self.0 | DRIVEN_BIT)
    }
}

/// Admission to make one call, from [`Breaker::try_acquire`].
///
/// Record the outcome with [`success`](Permit::success), [`failure`](Permit::failure),
/// [`ignore`](Permit::ignore) or [`record`](Permit::record). A permit dropped without a record is a
/// cancelled call: nothing is recorded, it is counted in `cancelled`, and a half-open slot is given
/// back. A permit dropped while its thread panics records a failure, so a panicking call still
/// counts (R3). (Calls run by `#[circuit_breaker]` or [`CallPolicy::run`](crate::CallPolicy::run)
/// tell the two panics apart: one from inside the call is a failure, one that began outside it and
/// drops the call on its way is a cancellation.)
///
/// The permit carries the generation it was admitted in: an outcome recorded after the breaker
/// changed state is dropped and counted as `late` (R5).
#[must_use = "a permit records nothing until its outcome is given; dropping it is a cancellation"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    ticket: Ticket,
}

impl<'a> Permit<'a> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new(breaker: &'a Breaker, ticket: Ticket) -> Permit<'a> {
        Permit { breaker, ticket }
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the retry driver, which loom leaves out
    /// Marks the permit as one whose attempts the driver runs inside its panic guard.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn driven(mut self) -> Permit<'a> {
        self.ticket = self.ticket.driven();
        self
    }

    /// Whether this is a half-open trial call. A `per_call` retry makes one attempt only on a
    /// probe, so a probe is never amplified (R2).
    pub fn is_probe(&self) -> bool {
        self.ticket.is_probe()
    }

    /// The generation of the breaker's state this permit was admitted in.
    pub fn generation(&self) -> u32 {
        self.ticket.generation()
    }

    /// Whether the breaker is still in the state this permit was admitted in; once it is not, the
    /// permit's outcome will be counted `late` and change nothing (R5).
    pub fn is_current(&self) -> bool {
        self.breaker.__generation() == self.ticket.generation()
    }

    /// The breaker that issued it.
    pub fn breaker(&self) -> &'a Breaker {
        self.breaker
    }

    /// Takes the permit apart without running its `Drop`: the outcome methods settle it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn settle(self) -> (&'a Breaker, Ticket) {
        let this = ManuallyDrop::new(self);
        (this.breaker, this.ticket)
    }

    /// The ticket, for an owned permit to carry; this permit is gone without a trace.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn into_ticket(self) -> Ticket {
        self.settle().1
    }

    /// Records a success.
    #[cfg_attr(not(debug_assertions), inline)]
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
    #[cfg_attr(not(debug_assertions), inline)]
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

/// A [`Permit`] that owns a reference to its breaker, from [`Breaker::acquire_owned`]: `'static`,
/// `Send` and `Sync`, for futures that must be. Everything else is as for [`Permit`].
#[must_use = "a permit records nothing until its outcome is given; dropping it is a cancellation"]
pub struct OwnedPermit {
    breaker: Arc<Breaker>,
    /// `None` once settled.
    ticket: Option<Ticket>,
}

impl OwnedPermit {
    pub(crate) fn new(breaker: Arc<Breaker>, ticket: Ticket) -> OwnedPermit {
        OwnedPermit {
            breaker,
            ticket: Some(ticket),
        }
    }

    fn ticket(&self) -> Ticket {
        self.ticket
            .expect("an owned permit is settled only by consuming it")
    }

    /// Whether this is a half-open trial call.
    pub fn is_probe(&self) -> bool {
        self.ticket().is_probe()
    }

    /// The generation of the breaker's state this permit was admitted in.
    pub fn generation(&self) -> u32 {
        self.ticket().generation()
    }

    /// Whether the breaker is still in the state this permit was admitted in.
    pub fn is_current(&self) -> bool {
        self.breaker.__generation() == self.ticket().generation()
    }

    /// The breaker that issued it.
    pub fn breaker(&self) -> &Arc<Breaker> {
        &self.breaker
    }

    /// Records through a borrowed permit, which settles it.
    fn settle(mut self, record: impl FnOnce(Permit<'_>)) {
        if let Some(ticket) = self.ticket.take() {
            record(Permit::new(&self.breaker, ticket));
        }
    }

    /// Records a success.
    pub fn success(self) {
        self.settle(|p| p.success());
    }

    /// Records a failure.
    pub fn failure(self) {
        self.settle(|p| p.failure());
    }

    /// Records a failure that was an attempt timeout.
    pub fn timeout(self) {
        self.settle(|p| p.timeout());
    }

    /// Records nothing, counts the outcome as ignored, and gives a half-open slot back.
    pub fn ignore(self) {
        self.settle(|p| p.ignore());
    }

    /// Records an error by its verdict.
    pub fn record(self, verdict: Verdict) {
        self.settle(|p| p.record(verdict));
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.breaker.on_unsettled(ticket);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("breaker", &self.breaker.name())
            .field("generation", &self.ticket.map(Ticket::generation))
            .finish()
    }
}

pub(crate) mod unwind {
    //! Telling a panic from inside a call from one that began outside it (R3).
    //!
    //! The driver runs each attempt inside a [`Guard`]; a guard dropped while its thread panics
    //! means the panic came out of the attempt, and it leaves a mark on the thread. A driven permit
    //! dropped unsettled takes one mark: if there is one, its call panicked (a failure), else it
    //! was dropped by someone else's panic or cancelled (a cancellation). Nested calls leave one
    //! mark each, and each of their permits takes one.
    // Loom leaves the driver out, and with it every guard; the marks are still read.
    #![cfg_attr(loom, allow(dead_code))]
    use std::cell::Cell;

    thread_local! {
        static MARKS: Cell<u32> = const { Cell::new(0) };
    }

    /// Marks the thread when dropped during a panic. Armed before an attempt runs and disarmed
    /// when it returns, so the normal path costs nothing. A value rather than a fn taking the
    /// attempt as a closure: nothing of it is compiled again for each annotated fn.
    #[derive(Debug)]
    #[must_use = "a guard marks a panic only while it lives"]
    pub(crate) struct Guard(());

    impl Guard {
        /// A guard around what runs until [`Guard::disarm`].
        #[cfg_attr(not(debug_assertions), inline(always))]
        pub(crate) fn arm() -> Guard {
            Guard(())
        }

        /// What ran returned: no panic came out of it.
        #[cfg_attr(not(debug_assertions), inline(always))]
        pub(crate) fn disarm(self) {
            std::mem::forget(self);
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = MARKS.try_with(|m| m.set(m.get().saturating_add(1)));
            }
        }
    }

    /// Takes one mark: whether a panic came out of a guarded attempt on this thread and has not
    /// been accounted to a permit yet.
    pub(crate) fn take_mark() -> bool {
        MARKS
            .try_with(|m| {
                let marks = m.get();
                m.set(marks.saturating_sub(1));
                marks > 0
            })
            .unwrap_or(false)
    }
}
