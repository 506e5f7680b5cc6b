//! Two breakers with one name are a programming error, reported on the registry's first use with
//! both source locations. (Its own test binary: the panic poisons this process's registry.)

use breakerbox::{Rejected, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(name = "inventory")]
pub fn list_items() -> Result<(), Error> {
    Ok(())
}

#[circuit_breaker(name = "inventory")]
pub fn count_items() -> Result<(), Error> {
    Ok(())
}

#[test]
fn duplicate_names_panic_naming_both_locations() {
    let panic =
        std::panic::catch_unwind(breakerbox::registry).expect_err("duplicate names must panic");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted message")
        .clone();
    assert!(
        message.contains("two circuit breakers are named `inventory`"),
        "{message}"
    );
    // Each location is the line of the annotated fn.
    let file = file!();
    assert!(message.contains(&format!("{file}:16")), "{message}");
    assert!(message.contains(&format!("{file}:21")), "{message}");
    assert!(
        message.contains("give one of them a different `name = \"...\"`"),
        "{message}"
    );
}
