//! In a crate that depends on the facade under another name: `crate = "::bb"` compiles, and
//! leaving it out is one error that says what to write.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/renamed_with_crate.rs");
    cases.compile_fail("tests/ui/renamed_without_crate.rs");
}
