//! The mistake behind duplicate breaker names, as users make it: two types of one module, each
//! with a `get` method behind a breaker and no `name`. A breaker's default name is the fn's path
//! without the type, so both are `module_path::get`. The first `registry()` call says so with both
//! locations; every later use of the registry works. (Its own test binary: the report is the
//! first `registry()` call of the process; `registry_methods_named.rs` is the fix.)

use breakerbox::{Rejected, circuit_breaker};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

pub mod store {
    use super::{Error, circuit_breaker};

    pub struct Users;

    pub struct Orders;

    impl Users {
        #[circuit_breaker(threshold = 3)]
        pub fn get(&self, id: u64) -> Result<u64, Error> {
            Ok(id)
        }
    }

    impl Orders {
        #[circuit_breaker(threshold = 3)]
        pub fn get(&self, id: u64) -> Result<u64, Error> {
            Ok(id * 10)
        }
    }
}

/// The same two types, one of them with a `name`: not a duplicate.
pub mod named {
    use super::{Error, circuit_breaker};

    pub struct Users;

    pub struct Orders;

    impl Users {
        #[circuit_breaker(threshold = 3)]
        pub fn get(&self, id: u64) -> Result<u64, Error> {
            Ok(id)
        }
    }

    impl Orders {
        #[circuit_breaker(name = "registry_duplicate_methods.orders", threshold = 3)]
        pub fn get(&self, id: u64) -> Result<u64, Error> {
            Ok(id * 10)
        }
    }
}

// One test: which call of `registry()` comes first in the process is what it is about.
#[test]
fn two_get_methods_of_one_module_are_reported_once() {
    let panic =
        std::panic::catch_unwind(breakerbox::registry).expect_err("duplicate names must panic");
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted message")
        .clone();
    let file = file!();
    assert_eq!(
        message,
        format!(
            "two circuit breakers are named `registry_duplicate_methods::store::get`: one \
             declared at {file}:27, the other at {file}:34; give one of them a different \
             `name = \"...\"`, or share one breaker with `shared = PATH`"
        )
    );

    // Reported once: later calls return the registry, with both breakers listed.
    let registry = breakerbox::registry();
    let listed: Vec<(&str, u32)> = registry
        .iter()
        .map(|b| (b.name(), b.config().location().unwrap().line))
        .collect();
    assert_eq!(
        listed,
        [
            ("registry_duplicate_methods.orders", 57),
            ("registry_duplicate_methods::named::get", 50),
            ("registry_duplicate_methods::store::get", 27),
            ("registry_duplicate_methods::store::get", 34),
        ]
    );
    let duplicates = registry.check().expect_err("a name is shared");
    let reported: Vec<&str> = duplicates.iter().map(|d| d.name()).collect();
    assert_eq!(reported, ["registry_duplicate_methods::store::get"]);
    assert_eq!(duplicates.to_string(), message);

    // Each method still calls through its own breaker; `get` finds the first declared.
    assert_eq!(store::Users.get(1).unwrap(), 1);
    assert_eq!(store::Orders.get(1).unwrap(), 10);
    assert_eq!(store::Orders.get(2).unwrap(), 20);
    let first = registry
        .get("registry_duplicate_methods::store::get")
        .unwrap();
    assert_eq!(first.config().location().unwrap().line, 27);
    assert_eq!(first.metrics().successes, 1);
    let successes: Vec<u64> = registry
        .iter()
        .filter(|b| b.name() == "registry_duplicate_methods::store::get")
        .map(|b| b.metrics().successes)
        .collect();
    assert_eq!(successes, [1, 2]);
    assert_eq!(named::Users.get(3).unwrap(), 3);
    assert_eq!(named::Orders.get(3).unwrap(), 30);
    assert_eq!(breakerbox::registry().len(), 4);
}
