//! What an error means to the breaker and to retry.

/// How an error counts, as a `classify` function decides (R3).
///
/// ```
/// use breaker_core::Verdict;
///
/// #[derive(Debug)]
/// enum ApiError { NotFound, Unavailable, BadRequest }
///
/// fn classify(e: &ApiError) -> Verdict {
///     match e {
///         ApiError::Unavailable => Verdict::Transient,
///         ApiError::BadRequest => Verdict::Permanent,
///         ApiError::NotFound => Verdict::Ignore,
///     }
/// }
/// assert_eq!(classify(&ApiError::NotFound), Verdict::Ignore);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The service is failing and may recover: recorded as a failure, and retried.
    Transient,
    /// The service failed in a way another try will not fix: recorded as a failure, not retried.
    Permanent,
    /// The caller's fault (a 404, a validation error): neither recorded nor retried; a half-open
    /// permit is given back.
    Ignore,
}

impl Verdict {
    /// The classifier used when none is given: every error is [`Verdict::Transient`].
    pub fn transient<E: ?Sized>(_: &E) -> Verdict {
        Verdict::Transient
    }
}
