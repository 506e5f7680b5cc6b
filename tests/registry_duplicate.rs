//! Two breakers with one name are a programming error, reported once, on the registry's first use,
//! with both source locations; every later use of the registry works. (Its own test binary: the
//! report is the first `registry()` call of the process.)

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

// One test: which call of `registry()` comes first in the process is what it is about.
#[test]
fn duplicate_names_are_reported_once_naming_both_locations() {
    // Four threads make the first calls together: exactly one of them panics.
    let start = std::sync::Barrier::new(4);
    let panics: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    std::panic::catch_unwind(breakerbox::registry).err()
                })
            })
            .collect();
        threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .map(|panic| {
                panic
                    .downcast_ref::<String>()
                    .expect("a formatted message")
                    .clone()
            })
            .collect()
    });
    assert_eq!(panics.len(), 1, "{panics:#?}");
    let message = panics[0].clone();
    assert!(
        message.contains("two circuit breakers are named `inventory`"),
        "{message}"
    );
    // Each location is the line of the annotated fn.
    let file = file!();
    assert!(message.contains(&format!("{file}:17")), "{message}");
    assert!(message.contains(&format!("{file}:22")), "{message}");
    assert!(
        message.contains("give one of them a different `name = \"...\"`"),
        "{message}"
    );

    // Reported once: from now on the registry works, and lists both breakers.
    let registry = breakerbox::registry();
    assert_eq!(registry.len(), 2);
    let names: Vec<&str> = registry.iter().map(|b| b.name()).collect();
    assert_eq!(names, ["inventory", "inventory"]);
    let lines: Vec<u32> = registry
        .iter()
        .map(|b| b.config().location().unwrap().line)
        .collect();
    assert_eq!(lines, [17, 22]);

    // `get` returns the one declared first.
    let first = registry.get("inventory").unwrap();
    assert_eq!(first.config().location().unwrap().line, 17);
    assert_eq!(
        first.call_sites()[0].function(),
        concat!(module_path!(), "::list_items")
    );
    list_items().unwrap();
    assert_eq!(first.metrics().successes, 1);

    // `check` reports the duplicate, with the panic's message.
    let duplicates = registry.check().expect_err("a name is shared");
    let reported: Vec<(&str, Vec<u32>)> = duplicates
        .iter()
        .map(|d| {
            (
                d.name(),
                d.locations().iter().map(|l| l.unwrap().line).collect(),
            )
        })
        .collect();
    assert_eq!(reported, [("inventory", vec![17, 22])]);
    assert!(
        duplicates
            .iter()
            .flat_map(|d| d.locations())
            .all(|l| l.unwrap().file == file)
    );
    assert_eq!(duplicates.to_string(), message);

    // Nothing else panics either.
    assert_eq!(breakerbox::registry().len(), 2);
    assert_eq!(registry.to_string().lines().count(), 3);
}
