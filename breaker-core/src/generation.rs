//! Generations: every transition of a breaker bumps its 32-bit generation, and everything that
//! belongs to one state (a permit, a policy's counts, a stamp) carries the generation it belongs to
//! (R5). They wrap, so they are compared in wrapping arithmetic.

/// Whether generation `a` came after `b`: up to 2^31 transitions ahead is newer.
pub(crate) const fn is_newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::is_newer;

    #[test]
    fn newer_wraps() {
        assert!(is_newer(1, 0));
        assert!(!is_newer(0, 0));
        assert!(!is_newer(0, 1));
        assert!(is_newer(0, u32::MAX));
        assert!(is_newer(5, u32::MAX - 5));
    }
}
