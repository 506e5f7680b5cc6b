//! Breakers that share a name: a programming error the registry reports once, and that
//! [`Registry::check`](crate::Registry::check) reports on demand.
//!
//! Breakers are only ever shared through `shared = PATH`; two breakers under one name would make
//! [`Registry::get`](crate::Registry::get) and every export by name (metrics, snapshots) pick one
//! of them, so the registry keeps both and says where each was declared.

use std::fmt;

use crate::{Breaker, Location, Name};

/// Every name that more than one breaker has, from [`Registry::check`](crate::Registry::check).
///
/// Its `Display` is the message the first call of [`registry`](crate::registry) panics with: each
/// name, where each of its breakers was declared, and what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateNames {
    names: Vec<DuplicateName>,
}

/// One name that several breakers have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateName {
    name: Name,
    locations: Vec<Option<Location>>,
}

impl DuplicateNames {
    /// The names of `breakers` (sorted by name, then by location) that more than one has, or
    /// `None`.
    pub(crate) fn find(breakers: &[&'static Breaker]) -> Option<DuplicateNames> {
        let names: Vec<DuplicateName> = breakers
            .chunk_by(|a, b| a.name() == b.name())
            .filter(|same| same.len() > 1)
            .map(|same| DuplicateName {
                name: Name::from(same[0].name().to_owned()),
                locations: same.iter().map(|b| b.config().location()).collect(),
            })
            .collect();
        (!names.is_empty()).then_some(DuplicateNames { names })
    }

    /// The one name `breakers` (two of them, the first already registered) share.
    pub(crate) fn find_among(breakers: &[&Breaker]) -> DuplicateNames {
        DuplicateNames {
            names: vec![DuplicateName {
                name: Name::from(breakers[0].name().to_owned()),
                locations: breakers.iter().map(|b| b.config().location()).collect(),
            }],
        }
    }

    /// Each duplicated name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &DuplicateName> + '_ {
        self.names.iter()
    }
}

impl DuplicateName {
    /// The name the breakers share.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where each breaker of this name was declared, ordered by file, then line: the first is
    /// the one [`Registry::get`](crate::Registry::get) returns. `None` for a breaker whose
    /// [`Config`](crate::Config) has no location.
    pub fn locations(&self) -> &[Option<Location>] {
        &self.locations
    }
}

impl fmt::Display for DuplicateNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{name}")?;
        }
        Ok(())
    }
}

impl fmt::Display for DuplicateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut at: Vec<String> = self
            .locations
            .iter()
            .map(|l| l.map_or_else(|| "an unknown location".to_owned(), |l| l.to_string()))
            .collect();
        if let [first, second] = &at[..] {
            return write!(
                f,
                "two circuit breakers are named `{}`: one declared at {first}, the other at \
                 {second}; give one of them a different `name = \"...\"`, or share one breaker \
                 with `shared = PATH`",
                self.name,
            );
        }
        let last = at.pop().unwrap_or_default();
        write!(
            f,
            "{} circuit breakers are named `{}`, declared at {} and {last}; give all but one of \
             them a different `name = \"...\"`, or share one breaker with `shared = PATH`",
            self.locations.len(),
            self.name,
            at.join(", "),
        )
    }
}

impl std::error::Error for DuplicateNames {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    const fn breaker(name: &'static str, line: u32) -> Breaker {
        let config = match Config::builder(name).location("src/shop.rs", line).build() {
            Ok(config) => config,
            Err(_) => panic!("a valid configuration"),
        };
        Breaker::new(config)
    }

    static CART_10: Breaker = breaker("cart", 10);
    static CART_20: Breaker = breaker("cart", 20);
    static CART_30: Breaker = breaker("cart", 30);
    static STOCK_5: Breaker = breaker("stock", 5);
    static STOCK_7: Breaker = breaker("stock", 7);
    static USERS: Breaker = breaker("users", 1);

    #[test]
    fn unique_names_are_no_duplicates() {
        assert_eq!(DuplicateNames::find(&[&CART_10, &STOCK_5, &USERS]), None);
        assert_eq!(DuplicateNames::find(&[]), None);
    }

    #[test]
    fn each_shared_name_is_reported_with_every_location() {
        let found =
            DuplicateNames::find(&[&CART_10, &CART_20, &CART_30, &STOCK_5, &STOCK_7, &USERS])
                .expect("two names are shared");
        let names: Vec<(&str, usize)> = found
            .iter()
            .map(|d| (d.name(), d.locations().len()))
            .collect();
        assert_eq!(names, [("cart", 3), ("stock", 2)]);
        assert_eq!(
            found.iter().nth(1).unwrap().locations(),
            [
                Some(Location {
                    file: "src/shop.rs",
                    line: 5
                }),
                Some(Location {
                    file: "src/shop.rs",
                    line: 7
                }),
            ]
        );
        assert_eq!(
            found.to_string(),
            "3 circuit breakers are named `cart`, declared at src/shop.rs:10, src/shop.rs:20 and \
             src/shop.rs:30; give all but one of them a different `name = \"...\"`, or share one \
             breaker with `shared = PATH`\n\
             two circuit breakers are named `stock`: one declared at src/shop.rs:5, the other at \
             src/shop.rs:7; give one of them a different `name = \"...\"`, or share one breaker \
             with `shared = PATH`"
        );
    }
}
