//! Two types of one module, each with a `get` method behind a breaker, one of them with a `name`:
//! two names, so the registry has nothing to report. (The mistake without the `name` is
//! `registry_duplicate_methods.rs`; this is its own test binary, so that no other breaker is in
//! its registry.)

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
        #[circuit_breaker(name = "orders", threshold = 3)]
        pub fn get(&self, id: u64) -> Result<u64, Error> {
            Ok(id * 10)
        }
    }
}

#[test]
fn a_name_on_one_of_two_get_methods_leaves_nothing_to_report() {
    let registry = breakerbox::registry();
    assert_eq!(registry.check(), Ok(()));
    let names: Vec<&str> = registry.iter().map(|b| b.name()).collect();
    assert_eq!(names, ["orders", "registry_methods_named::store::get"]);
    assert_eq!(store::Users.get(1).unwrap(), 1);
    assert_eq!(store::Orders.get(1).unwrap(), 10);
    assert_eq!(registry.get("orders").unwrap().metrics().successes, 1);
    assert_eq!(
        registry
            .get("registry_methods_named::store::get")
            .unwrap()
            .metrics()
            .successes,
        1
    );
}
