//! Compile-time checks of `#[circuit_breaker]` and `#[shared_breaker]`: every rejected attribute
//! fails with the error in its `.stderr`, every accepted one compiles and runs.
//!
//! The `.stderr` files hold rustc's own output, which changes between releases: they are compared
//! on the release `rust-toolchain.toml` pins, and any other rustc fails this test (see
//! `support/ui_toolchain.rs` for the opt-out that runs the pass cases alone).

#[path = "support/ui_toolchain.rs"]
mod ui_toolchain;

/// The groups of compile-fail cases, one directory each.
const GROUPS: [&str; 5] = ["args", "combos", "item", "types", "stacking"];

#[test]
fn ui() {
    let compile_fail = ui_toolchain::compile_fail_cases("cargo test --test ui");
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    if compile_fail {
        for group in GROUPS {
            cases.compile_fail(format!("tests/ui/{group}/*.rs"));
        }
    }
}

/// No error a user sees names the runtime's private module, whose names mean nothing to them:
/// every expected `.stderr`, of this crate's cases and of the renamed facade's, is read.
#[test]
fn no_error_names_the_private_module() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = GROUPS
        .iter()
        .map(|group| root.join("tests/ui").join(group))
        .chain([root.join("tests/renamed-facade/tests/ui")]);
    let mut read = 0;
    let mut naming = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "stderr") {
                read += 1;
                if std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("__private")
                {
                    naming.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
    }
    assert!(read > 50, "read only {read} .stderr files");
    assert!(naming.is_empty(), "these name `__private`: {naming:#?}");
}
