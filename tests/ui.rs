//! Compile-time checks of `#[circuit_breaker]` and `#[shared_breaker]`: every rejected attribute
//! fails with the error in its `.stderr`, every accepted one compiles and runs.
//!
//! The `.stderr` files hold rustc's own output, which changes between releases: they are compared
//! on the release `rust-toolchain.toml` pins, and any other rustc fails this test (see
//! `support/ui_toolchain.rs` for the opt-out that runs the pass cases alone).

#[path = "support/ui_toolchain.rs"]
mod ui_toolchain;

#[test]
fn ui() {
    let compile_fail = ui_toolchain::compile_fail_cases("cargo test --test ui");
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    if compile_fail {
        for group in ["args", "combos", "item", "types", "stacking"] {
            cases.compile_fail(format!("tests/ui/{group}/*.rs"));
        }
    }
}
