//! The retry budget (R11): over the last 10 s, the retries of a breaker's calls stay within a
//! percent of its first attempts, or 10 retries per second when that is more.
//!
//! # What is counted, and when
//!
//! Time is counted in whole seconds of the breaker's clock (`tokio::time::Instant`, so a paused
//! test clock drives it); "the last 10 s" is the current second and the nine before it.
//!
//! - A **retry** counts in the second it is decided: when the attempt before it fails, before the
//!   wait (the driver asks in `Call::settle_error`, where a `per_attempt` call also asks the breaker
//!   for the next admission). A denied retry is not made and not counted.
//! - A **first attempt** counts in one of two ways, and neither costs a successful call anything:
//!   - a failed first attempt of a call that may retry counts in the second it fails, just before
//!     the retry it asks for is decided;
//!   - a success of any call on the breaker that had not retried (a fn that never retries
//!     included) is read from the success counter the breaker keeps anyway. The budget reads it
//!     when it decides a retry (a *look*), and dates the successes made since its previous look to
//!     the second of that previous look: never later than they happened, so they leave the window
//!     early rather than late, and the bound holds. Successes made before the budget's first look,
//!     or more than 10 s after a look with no look since, are not counted at all: at the onset of
//!     an outage that follows a quiet spell the budget starts from its floor and the failing first
//!     attempts, which is the moment a failing service most needs the protection.
//!
//! A retry is allowed when, counting it, the retries of the window stay within
//! `max(first attempts of the window × percent / 100, 10 × 10)`.
//!
//! # Lock-free and exact
//!
//! Every count is an `AtomicU64` holding `second << 32 | count`, so a slot of the ring is reused
//! by a later second without a separate reset. Retries are decided by one word, the *head*: the
//! second retries are being counted in and its count. A retry is granted only by a compare-and-swap
//! of the head from the exact value the decision was computed with, so two threads can never both
//! take the last retry of a window. When the clock passes the head's second, the thread that moves
//! the head first copies its count into the ring (`past`) and only then swaps the head; a reader
//! that acquires the head therefore finds the count of every earlier second of its window in the
//! ring, frozen: only the head changes. First attempts are plain additions to their second's slot;
//! a decision that misses one made at the same moment sees fewer first attempts, which errs on the
//! side of the failing service.
//!
//! The successes are summed from the breaker's per-thread counter slots (16 loads, on the retry
//! path only) minus the successes of calls that had retried, which the driver counts here before
//! recording the success; a release fence there and an acquire fence here make sure a success that
//! is seen has its "had retried" seen too, so a retried call is never taken for a first attempt.
//!
//! Under `cfg(loom)` the driver, and with it the budget, is left out: the loom models check the
//! state machine, which the budget does not touch.

use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::Breaker;
use crate::clock;
use crate::config::{BUDGET_MIN_PER_SECOND, BUDGET_WINDOW, Budget};

/// Seconds in the window: the current one and the nine before it.
const SECONDS: u32 = BUDGET_WINDOW.as_secs() as u32;

/// Retries the floor allows over the window.
const FLOOR: u64 = BUDGET_MIN_PER_SECOND as u64 * SECONDS as u64;

/// A count tagged with the second it belongs to: `second << 32 | count`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Tally(u64);

impl Tally {
    const fn new(second: u32, count: u32) -> Tally {
        Tally(((second as u64) << 32) | count as u64)
    }

    const fn second(self) -> u32 {
        (self.0 >> 32) as u32
    }

    const fn count(self) -> u32 {
        self.0 as u32
    }

    /// Whether it belongs to the window that ends with `second`.
    const fn in_window(self, second: u32) -> bool {
        self.second() <= second && second - self.second() < SECONDS
    }
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in second {}", self.count(), self.second())
    }
}

/// The budget of one breaker; see the module docs. 184 bytes, no allocation, no lock.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    /// Retries of the latest second any decision has seen.
    head: AtomicU64,
    /// Retries of the seconds before the head's, frozen when the head moved on; slot `second % 10`.
    past: [AtomicU64; SECONDS as usize],
    /// First attempts by the second they count in; slot `second % 10`.
    firsts: [AtomicU64; SECONDS as usize],
    /// The budget's last look at the breaker's successes: its second, and the low 32 bits of the
    /// first-attempt successes counted so far.
    look: AtomicU64,
    /// Successes of calls that had retried (not first attempts), since the breaker was built.
    retried_successes: AtomicU64,
}

/// Why a retry was denied, for the DEBUG event.
#[derive(Clone, Copy, Debug)]
struct Refusal {
    retries: u64,
    first_attempts: u64,
    allowed: u64,
}

/// What the budget said when a failed attempt asked for a retry.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Answer {
    /// Make the retry; it was counted in this second (given back by [`refund`] when the breaker
    /// then refuses it). `None` when the breaker has no budget.
    Granted(Option<u32>),
    /// Do not: return the error now. Counted in `retries_denied`, and traced at DEBUG.
    Denied,
}

impl RetryBudget {
    /// An empty budget.
    pub(crate) const fn new() -> RetryBudget {
        RetryBudget {
            head: AtomicU64::new(0),
            past: [const { AtomicU64::new(0) }; SECONDS as usize],
            firsts: [const { AtomicU64::new(0) }; SECONDS as usize],
            look: AtomicU64::new(0),
            retried_successes: AtomicU64::new(0),
        }
    }

    /// Counts `n` first attempts in `second`.
    fn add_first_attempts(&self, second: u32, n: u32) {
        add(&self.firsts[slot(second)], second, n);
    }

    /// Dates the first-attempt successes made since the previous look to that look's second, and
    /// makes this the latest look.
    fn look(&self, now: u32, successes: u64) {
        // Acquire, paired with the release fence in `retried_success`: a success this sum saw has
        // its "had retried" visible below, so it is never counted as a first attempt.
        fence(Ordering::Acquire);
        let retried = self.retried_successes.load(Ordering::Relaxed);
        // The low 32 bits are enough: only the difference since the previous look matters, and a
        // difference that reads as negative (a count seen earlier than its own "had retried", or
        // over 2^31 successes between two looks) is taken as nothing new, which only counts less.
        let seen = successes.wrapping_sub(retried) as u32;
        let mut current = Tally(self.look.load(Ordering::Relaxed));
        loop {
            let new = seen.wrapping_sub(current.count());
            let new = if (new as i32) > 0 { new } else { 0 };
            let next = Tally::new(
                now.max(current.second()),
                if new > 0 { seen } else { current.count() },
            );
            if next == current {
                return;
            }
            // Relaxed: the look word orders nothing; a successful swap only decides which thread
            // dates these successes, so they are counted once.
            match self.look.compare_exchange_weak(
                current.0,
                next.0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let since = current.second();
                    if new > 0 && now.saturating_sub(since) < SECONDS {
                        self.add_first_attempts(since, new);
                    }
                    return;
                }
                Err(actual) => current = Tally(actual),
            }
        }
    }

    /// First attempts and past retries of the window that ends with `second`.
    fn window(&self, second: u32) -> (u64, u64) {
        let sum = |ring: &[AtomicU64], include_head_second: bool| {
            ring.iter()
                .map(|slot| Tally(slot.load(Ordering::Relaxed)))
                .filter(|t| t.in_window(second) && (include_head_second || t.second() != second))
                .map(|t| u64::from(t.count()))
                .sum::<u64>()
        };
        (sum(&self.firsts, true), sum(&self.past, false))
    }

    /// Takes one retry in second `now`, if the window allows it.
    fn withdraw(&self, now: u32, percent: u32) -> Result<u32, Refusal> {
        // Acquire: the ring holds every second the head has moved past (see `move_head`).
        let mut head = Tally(self.head.load(Ordering::Acquire));
        loop {
            if now > head.second() {
                head = self.move_head(head, now);
                continue;
            }
            // A thread whose clock read lags the head's counts in the head's second.
            let second = head.second();
            let (first_attempts, past) = self.window(second);
            let retries = past + u64::from(head.count());
            let allowed = (first_attempts.saturating_mul(u64::from(percent)) / 100).max(FLOOR);
            if retries >= allowed || head.count() == u32::MAX {
                return Err(Refusal {
                    retries,
                    first_attempts,
                    allowed,
                });
            }
            // AcqRel: the grant is decided on exactly the head value this swap replaces; a failed
            // swap (another retry, or the head moving on) decides again.
            match self.head.compare_exchange_weak(
                head.0,
                Tally::new(second, head.count() + 1).0,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(second),
                Err(actual) => head = Tally(actual),
            }
        }
    }

    /// Moves the head from `head` to second `now`, freezing the head's count in the ring first.
    fn move_head(&self, head: Tally, now: u32) -> Tally {
        if head.count() > 0 {
            // Written before the swap below publishes the new head (release): whoever acquires
            // the new head, or any later one, finds this second's count here.
            raise(&self.past[slot(head.second())], head);
        }
        match self.head.compare_exchange(
            head.0,
            Tally::new(now, 0).0,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Tally::new(now, 0),
            Err(actual) => Tally(actual),
        }
    }

    /// Gives back a retry granted in `second` that was not made (the breaker refused it). Once the
    /// head has moved on, the retry stays counted: the window then counts one retry too many,
    /// never one too few.
    fn refund(&self, second: u32) {
        let mut head = Tally(self.head.load(Ordering::Relaxed));
        while head.second() == second && head.count() > 0 {
            match self.head.compare_exchange_weak(
                head.0,
                Tally::new(second, head.count() - 1).0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => head = Tally(actual),
            }
        }
    }

    /// Counts a success of a call that had retried: not a first attempt.
    fn retried_success(&self) {
        self.retried_successes.fetch_add(1, Ordering::Relaxed);
        // Release, paired with the acquire fence in `look`: the success recorded after this (a
        // relaxed store to a counter slot) is never seen without this count.
        fence(Ordering::Release);
    }
}

/// The slot of the ring a second uses.
const fn slot(second: u32) -> usize {
    (second % SECONDS) as usize
}

/// The breaker's clock in whole seconds.
fn now_second() -> u32 {
    u32::try_from(clock::now() / 1000).unwrap_or(u32::MAX)
}

/// Adds `n` to a slot's count for `second`; a slot holding an older second starts over.
fn add(slot: &AtomicU64, second: u32, n: u32) {
    let mut current = Tally(slot.load(Ordering::Relaxed));
    loop {
        let next = match current.second().cmp(&second) {
            std::cmp::Ordering::Equal => Tally::new(second, current.count().saturating_add(n)),
            std::cmp::Ordering::Less => Tally::new(second, n),
            // The slot holds a second at least 10 later: this one has left every window.
            std::cmp::Ordering::Greater => return,
        };
        // Relaxed: a reader that misses this addition counts fewer first attempts, which only
        // allows fewer retries.
        match slot.compare_exchange_weak(current.0, next.0, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = Tally(actual),
        }
    }
}

/// Raises a slot to `to` unless it already holds a later second, or as much of the same one.
fn raise(slot: &AtomicU64, to: Tally) {
    let mut current = Tally(slot.load(Ordering::Relaxed));
    while current.second() < to.second()
        || (current.second() == to.second() && current.count() < to.count())
    {
        // Relaxed: published by the head swap that follows it (see `move_head`).
        match slot.compare_exchange_weak(current.0, to.0, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = Tally(actual),
        }
    }
}

// ---- what the driver calls ----

/// An attempt of a call that may retry (`attempts > 1`, not cut to one by nesting) failed:
/// counts it when it was the call's first attempt, and when `retry` asks the budget for the next
/// one. Nothing is touched on a breaker whose budget is off.
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) fn on_failed_attempt(breaker: &Breaker, attempt: u32, retry: bool) -> Answer {
    let Budget::Percent(percent) = breaker.config().budget() else {
        return Answer::Granted(None);
    };
    if attempt > 1 && !retry {
        return Answer::Granted(None);
    }
    decide(breaker, percent, attempt == 1, retry)
}

#[inline(never)]
fn decide(breaker: &Breaker, percent: u32, first: bool, retry: bool) -> Answer {
    let (budget, counters) = breaker.budget();
    let now = now_second();
    if first {
        budget.add_first_attempts(now, 1);
    }
    if !retry {
        return Answer::Granted(None);
    }
    budget.look(now, counters.successes_since_start());
    match budget.withdraw(now, percent) {
        Ok(second) => Answer::Granted(Some(second)),
        Err(refusal) => {
            counters.retry_denied();
            denied(breaker, percent, refusal);
            Answer::Denied
        }
    }
}

/// The DEBUG event that says why a retry was not made.
#[cold]
fn denied(breaker: &Breaker, percent: u32, refusal: Refusal) {
    tracing::debug!(
        target: "breakerbox",
        breaker = breaker.name(),
        retries = refusal.retries,
        first_attempts = refusal.first_attempts,
        allowed = refusal.allowed,
        budget_percent = percent,
        "retry denied by the retry budget: {} retries in the last {}s already, of {} allowed \
         ({percent}% of {} first attempts, or {} per second)",
        refusal.retries,
        SECONDS,
        refusal.allowed,
        refusal.first_attempts,
        BUDGET_MIN_PER_SECOND,
    );
}

/// A retry the budget granted in `second` was not made: the breaker refused its admission.
pub(crate) fn refund(breaker: &Breaker, second: u32) {
    breaker.budget().0.refund(second);
}

/// A call that had retried succeeded: its success is not a first attempt. Called before the
/// success is recorded.
#[cfg_attr(not(debug_assertions), inline)]
pub(crate) fn on_retried_success(breaker: &Breaker) {
    if let Budget::Percent(_) = breaker.config().budget() {
        breaker.budget().0.retried_success();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERCENT: u32 = 20;

    fn grants(budget: &RetryBudget, now: u32, asks: u32) -> u32 {
        (0..asks)
            .filter(|_| budget.withdraw(now, PERCENT).is_ok())
            .count() as u32
    }

    #[test]
    fn the_floor_allows_100_retries_per_window() {
        let budget = RetryBudget::new();
        assert_eq!(grants(&budget, 5000, 150), 100);
        // Nine seconds later the same window still holds them.
        assert_eq!(grants(&budget, 5009, 10), 0);
        // Ten seconds later they have left it.
        assert_eq!(grants(&budget, 5010, 150), 100);
    }

    #[test]
    fn retries_stay_within_the_percent_of_first_attempts() {
        let budget = RetryBudget::new();
        budget.add_first_attempts(7000, 1_000);
        assert_eq!(grants(&budget, 7000, 300), 200);
        budget.add_first_attempts(7003, 5);
        assert_eq!(grants(&budget, 7003, 10), 1);
        // Second 7000's first attempts leave the window at 7010, and its 200 retries with them:
        // 505 first attempts allow 101 retries, of which second 7003 took one.
        budget.add_first_attempts(7010, 500);
        assert_eq!(grants(&budget, 7010, 300), 100);
    }

    #[test]
    fn first_attempts_of_a_slot_reused_by_a_later_second_are_not_counted_twice() {
        let budget = RetryBudget::new();
        budget.add_first_attempts(100, 1_000);
        budget.add_first_attempts(110, 5);
        // Slot 0 now holds second 110; a late addition for second 100 is dropped.
        budget.add_first_attempts(100, 1_000);
        assert_eq!(budget.window(110), (5, 0));
        assert_eq!(budget.window(100), (0, 0));
    }

    #[test]
    fn a_lagging_clock_counts_in_the_heads_second() {
        let budget = RetryBudget::new();
        assert_eq!(budget.withdraw(500, PERCENT).ok(), Some(500));
        assert_eq!(budget.withdraw(499, PERCENT).ok(), Some(500));
        assert_eq!(
            Tally(budget.head.load(Ordering::Relaxed)),
            Tally::new(500, 2)
        );
        budget.refund(500);
        assert_eq!(
            Tally(budget.head.load(Ordering::Relaxed)),
            Tally::new(500, 1)
        );
        // A refund after the head moved on is dropped: counted, never under-counted.
        assert_eq!(budget.withdraw(501, PERCENT).ok(), Some(501));
        budget.refund(500);
        assert_eq!(budget.window(501), (0, 1));
    }

    #[test]
    fn successes_are_dated_to_the_previous_look() {
        let budget = RetryBudget::new();
        // Before the first look: not counted.
        budget.look(300, 1_000);
        assert_eq!(budget.window(300).0, 0);
        // Since the look at 300: counted in 300.
        budget.look(305, 1_600);
        assert_eq!(budget.window(305).0, 600);
        assert_eq!(budget.window(309).0, 600);
        assert_eq!(budget.window(310).0, 0);
        // Successes of calls that had retried are not first attempts.
        budget.retried_success();
        budget.retried_success();
        budget.look(306, 1_602);
        assert_eq!(budget.window(306).0, 600);
        // A look more than 10 s after the previous one counts nothing it cannot date.
        budget.look(330, 5_000);
        assert_eq!(budget.window(330).0, 0);
    }
}
