//! Generic fns with where-clauses, `impl Trait` arguments and returns, lifetimes.
use std::fmt::Display;

use breakerbox::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

#[circuit_breaker(attempts = 3, retry = "per_call", backoff = "1ms")]
pub async fn show<T>(value: T, suffix: impl AsRef<str> + Clone) -> Result<String, Error>
where
    T: Display + Clone + Send,
{
    Ok(format!("{value}{}", suffix.as_ref()))
}

#[circuit_breaker(threshold = 5)]
pub async fn displayable(n: u32) -> Result<impl Display, Error> {
    Ok(n * 2)
}

#[circuit_breaker(attempts = 2, retry = "per_call", backoff = "0ms")]
pub fn displayable_blocking(n: u32) -> Result<Box<impl Display>, Error> {
    if n == 0 {
        return Err(Error);
    }
    Ok(Box::new(n + 1))
}

#[circuit_breaker(threshold = 5)]
pub fn first_word<'a>(text: &'a str) -> Result<&'a str, Error> {
    text.split_whitespace().next().ok_or(Error)
}

#[circuit_breaker(threshold = 5)]
pub async fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> Result<&'a str, Error> {
    Ok(if a.len() >= b.len() { a } else { b })
}

#[circuit_breaker(attempts = 2, retry = "per_attempt", backoff = "1ms")]
pub fn sum<I>(items: I) -> Result<u64, Error>
where
    I: IntoIterator<Item = u64> + Clone,
{
    Ok(items.into_iter().sum())
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    assert_eq!(show(5, "!").await.unwrap(), "5!");
    assert_eq!(displayable(4).await.unwrap().to_string(), "8");
    assert_eq!(displayable_blocking(1).unwrap().to_string(), "2");
    assert!(displayable_blocking(0).is_err());
    assert_eq!(first_word("hello world").unwrap(), "hello");
    assert_eq!(longest("ab", "c").await.unwrap(), "ab");
    assert_eq!(sum(vec![1, 2, 3]).unwrap(), 6);
}
