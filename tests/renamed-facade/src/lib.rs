//! A crate that depends on the facade as `bb`: the attributes find it through `crate = "::bb"`,
//! and its registry lists what they declare.

use bb::{Rejected, circuit_breaker, shared_breaker};

/// The error of the fns below.
#[derive(Debug)]
pub enum Error {
    /// The service failed.
    Down,
    /// The breaker refused the call.
    Rejected(Rejected),
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Error::Rejected(r)
    }
}

/// A breaker shared by the fns of one service.
#[shared_breaker(crate = "::bb", threshold = 2, name = "renamed.shared")]
pub static SHARED: bb::Breaker;

/// A fn with its own breaker and retries.
#[circuit_breaker(
    crate = "::bb",
    name = "renamed.own",
    threshold = 1,
    attempts = 2,
    retry = "per_call",
    backoff = "0ms"
)]
pub fn own(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Down) } else { Ok(1) }
}

/// A fn on the shared breaker.
#[circuit_breaker(crate = "::bb", shared = SHARED)]
pub async fn shared(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::Down) } else { Ok(2) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_expand_through_the_renamed_facade() {
        assert_eq!(own(false).unwrap(), 1);
        assert!(matches!(own(true), Err(Error::Down)));
        assert!(matches!(own(false), Err(Error::Rejected(_))));
        let own = bb::registry().get("renamed.own").unwrap();
        assert_eq!(own.state(), bb::State::Open);
        let m = own.metrics();
        assert_eq!(
            (m.admitted, m.successes, m.failures, m.retries, m.rejected),
            (2, 1, 1, 1, 1)
        );
        let names: Vec<&str> = bb::registry().iter().map(|b| b.name()).collect();
        assert_eq!(names, ["renamed.own", "renamed.shared"]);
        assert_eq!(SHARED.call_sites().len(), 1);
        assert!(SHARED.call_sites()[0].function().ends_with("::shared"));
    }
}
