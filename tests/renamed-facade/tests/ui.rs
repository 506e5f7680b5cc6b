//! In a crate that depends on the facade under another name: `crate = "::bb"` compiles, and
//! leaving it out is one error that says what to write. That error's `.stderr` is compared on the
//! pinned rustc only, as in the facade's own UI test.

#[path = "../../support/ui_toolchain.rs"]
mod ui_toolchain;

#[test]
fn ui() {
    let compile_fail = ui_toolchain::compile_fail_cases("cargo test -p renamed-facade --test ui");
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/renamed_with_crate.rs");
    if compile_fail {
        cases.compile_fail("tests/ui/renamed_without_crate.rs");
    }
}
