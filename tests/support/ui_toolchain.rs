//! Which UI cases a run can check. A compile-fail case's `.stderr` file holds rustc's own
//! diagnostics, which change between releases, so it is compared on the release that wrote it
//! only, the one `rust-toolchain.toml` pins. On any other rustc the run fails, saying so, rather
//! than passing without having checked a single error; `BREAKERBOX_UI_ANY_TOOLCHAIN=1` asks for
//! the pass cases alone instead.

use std::io::Write;

/// The release the `.stderr` files were written with; `rust-toolchain.toml` pins the same.
pub(crate) const PINNED: &str = "1.95.0";

/// The opt-out: set to `1`, another rustc runs the pass cases only.
pub(crate) const ANY_TOOLCHAIN: &str = "BREAKERBOX_UI_ANY_TOOLCHAIN";

/// Whether the compile-fail cases run: `true` on the pinned rustc, `false` on another one with
/// the opt-out set (saying so on the terminal). Panics on another rustc without it.
/// `regenerate` is the command that rewrites this suite's `.stderr` files.
pub(crate) fn compile_fail_cases(regenerate: &str) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = std::process::Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    let opted_out = std::env::var(ANY_TOOLCHAIN).is_ok_and(|v| v == "1");
    match decide(&version, opted_out, regenerate) {
        Ok(Cases::All) => true,
        Ok(Cases::PassOnly) => {
            // Straight to the terminal, as trybuild writes its own report: the test harness
            // would hold back a `println!` of a passing test.
            let _ = writeln!(
                std::io::stderr().lock(),
                "{ANY_TOOLCHAIN}=1: ran the pass cases only; the compile-fail cases were not \
                 checked, their .stderr files are pinned to rustc {PINNED} and this is `{version}`"
            );
            false
        }
        Err(message) => panic!("{message}"),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Cases {
    All,
    PassOnly,
}

fn decide(version: &str, opted_out: bool, regenerate: &str) -> Result<Cases, String> {
    let pinned = version
        .strip_prefix("rustc ")
        .and_then(|rest| rest.split_whitespace().next())
        == Some(PINNED);
    match (pinned, opted_out) {
        (true, _) => Ok(Cases::All),
        (false, true) => Ok(Cases::PassOnly),
        (false, false) => {
            let found = if version.is_empty() {
                "no `rustc --version` answered".to_owned()
            } else {
                format!("this is `{version}`")
            };
            Err(format!(
                "the compile-fail cases' .stderr files are pinned to rustc {PINNED} (the release \
                 in rust-toolchain.toml), and {found}; run the tests with rustc {PINNED}, or move \
                 the pin: regenerate the files with `TRYBUILD=overwrite {regenerate}`, review \
                 every diff, and update rust-toolchain.toml and `PINNED` in \
                 tests/support/ui_toolchain.rs; to run only the pass cases on this rustc, set \
                 {ANY_TOOLCHAIN}=1"
            ))
        }
    }
}

#[test]
fn only_the_pinned_rustc_checks_the_compile_fail_cases() {
    let run = "cargo test --test ui";
    assert_eq!(
        decide("rustc 1.95.0 (59807616e 2026-04-14)", false, run),
        Ok(Cases::All)
    );
    assert_eq!(
        decide("rustc 1.95.0 (59807616e 2026-04-14)", true, run),
        Ok(Cases::All)
    );
    let other = decide("rustc 1.96.0 (0123456789 2026-05-28)", false, run).unwrap_err();
    assert!(
        other.starts_with(
            "the compile-fail cases' .stderr files are pinned to rustc 1.95.0 (the release in \
             rust-toolchain.toml), and this is `rustc 1.96.0 (0123456789 2026-05-28)`"
        ),
        "{other}"
    );
    assert!(
        other.contains("`TRYBUILD=overwrite cargo test --test ui`"),
        "{other}"
    );
    assert!(
        other.ends_with("set BREAKERBOX_UI_ANY_TOOLCHAIN=1"),
        "{other}"
    );
    // A nightly of the same number is another compiler.
    assert!(decide("rustc 1.95.0-nightly (abcdef012 2026-03-01)", false, run).is_err());
    assert!(
        decide("", false, run)
            .unwrap_err()
            .contains("no `rustc --version` answered")
    );
    assert_eq!(
        decide("rustc 1.96.0 (0123456789 2026-05-28)", true, run),
        Ok(Cases::PassOnly)
    );
}
