//! Parsing: the attribute's `key = value` list into typed values, every literal checked on its own.
//!
//! Whether the keys make sense together, and with the item they are on, is `validate.rs`'s job.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::{Expr, ExprLit, ExprPath, ExprUnary, Ident, Lit, UnOp};

/// Every error found so far; emitted once, together, so three mistakes show as three errors.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The largest `probes`: the breaker's state word keeps the half-open count in 10 bits.
pub(crate) const MAX_PROBES: u64 = 1023;
/// The largest count `window`: the breaker keeps one bit per outcome.
pub(crate) const MAX_COUNT_WINDOW: u64 = 1 << 20;
/// The most attempts a call may make.
pub(crate) const MAX_ATTEMPTS: u64 = 100;
/// The shortest time `window`, in milliseconds, as the runtime's `MIN_TIME_WINDOW`.
pub(crate) const MIN_TIME_WINDOW_MS: u64 = 20;

/// Which attribute the keys belong to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    CircuitBreaker,
    SharedBreaker,
}

impl Attribute {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Attribute::CircuitBreaker => "circuit_breaker",
            Attribute::SharedBreaker => "shared_breaker",
        }
    }
}

/// What a key configures: the breaker (service-scoped), each call (call-scoped), or the expansion
/// itself (`crate`, allowed on both attributes and beside `shared`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Breaker,
    Call,
    Expansion,
}

/// Every key, its scope, and an example of a value, used in messages.
pub(crate) const KEYS: &[(&str, Scope, &str)] = &[
    ("name", Scope::Breaker, "name = \"payments\""),
    ("threshold", Scope::Breaker, "threshold = 5"),
    ("failure_rate", Scope::Breaker, "failure_rate = 50"),
    ("window", Scope::Breaker, "window = 100"),
    ("min_calls", Scope::Breaker, "min_calls = 10"),
    ("reset", Scope::Breaker, "reset = \"30s\""),
    ("probes", Scope::Breaker, "probes = 1"),
    ("shared", Scope::Breaker, "shared = PAYMENTS"),
    ("attempts", Scope::Call, "attempts = 3"),
    ("retry", Scope::Call, "retry = \"per_call\""),
    ("backoff", Scope::Call, "backoff = \"100ms..2s\""),
    ("jitter", Scope::Call, "jitter = false"),
    ("timeout", Scope::Call, "timeout = \"2s\""),
    ("classify", Scope::Call, "classify = classify_error"),
    ("crate", Scope::Expansion, "crate = \"::breakerbox\""),
];

fn example(key: &str) -> &'static str {
    KEYS.iter()
        .find(|(k, ..)| *k == key)
        .map_or("", |(.., e)| e)
}

/// One key with its value: the key for errors about the key, the span for errors about the value.
pub(crate) struct Arg<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// A duration in whole milliseconds, or an exponential range of them.
#[derive(Clone, Copy)]
pub(crate) enum Timing {
    Fixed(u64),
    Range { start: u64, end: u64 },
}

/// A failure-rate window: the last N outcomes, or the outcomes of the last T milliseconds.
#[derive(Clone, Copy)]
pub(crate) enum WindowArg {
    Count(u64),
    Time(u64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granularity {
    PerAttempt,
    PerCall,
}

/// The attribute's keys, each parsed and checked on its own.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<Arg<String>>,
    pub(crate) threshold: Option<Arg<u64>>,
    pub(crate) failure_rate: Option<Arg<u64>>,
    pub(crate) window: Option<Arg<WindowArg>>,
    pub(crate) min_calls: Option<Arg<u64>>,
    pub(crate) reset: Option<Arg<Timing>>,
    pub(crate) probes: Option<Arg<u64>>,
    pub(crate) shared: Option<Arg<syn::Path>>,
    pub(crate) attempts: Option<Arg<u64>>,
    pub(crate) retry: Option<Arg<Granularity>>,
    pub(crate) backoff: Option<Arg<Timing>>,
    pub(crate) jitter: Option<Arg<bool>>,
    pub(crate) timeout: Option<Arg<u64>>,
    pub(crate) classify: Option<Arg<syn::Path>>,
    pub(crate) krate: Option<Arg<syn::Path>>,
    /// Every known key given, its value valid or not: the checks of combinations go by these, so
    /// a bad value is reported once, not again as a missing key.
    pub(crate) given: Vec<Ident>,
}

impl Args {
    /// The first `name` key given, whatever its value.
    pub(crate) fn key(&self, name: &str) -> Option<&Ident> {
        self.given.iter().find(|key| *key == name)
    }
}

impl Args {
    /// Parses `tokens`, pushing every mistake to `errors` and keeping the keys that parsed.
    pub(crate) fn parse(tokens: TokenStream, attribute: Attribute, errors: &mut Errors) -> Args {
        let mut args = Args::default();
        let parser = syn::meta::parser(|meta| args.parse_key(&meta, attribute, errors));
        if let Err(error) = parser.parse2(tokens) {
            errors.push(error);
        }
        args
    }

    fn parse_key(
        &mut self,
        meta: &ParseNestedMeta<'_>,
        attribute: Attribute,
        errors: &mut Errors,
    ) -> syn::Result<()> {
        let Some(key) = meta.path.get_ident().cloned() else {
            // `a::b = ..`: not a key of ours, whatever follows.
            skip_value(meta)?;
            errors.push(syn::Error::new_spanned(
                &meta.path,
                format!(
                    "expected a key of `#[{}]`, such as `threshold = 5`",
                    attribute.name()
                ),
            ));
            return Ok(());
        };
        let name = key.to_string();
        if !KEYS.iter().any(|(k, ..)| *k == name) {
            skip_value(meta)?;
            errors.at(key.span(), unknown_key(&name, attribute));
            return Ok(());
        }
        if !meta.input.peek(syn::Token![=]) {
            skip_value(meta)?;
            errors.at(
                key.span(),
                format!("`{name}` needs a value: write `{}`", example(&name)),
            );
            return Ok(());
        }
        let expr: Expr = meta.value()?.parse()?;
        self.given.push(key.clone());
        let value = Value {
            key: &key,
            name: &name,
            expr: &expr,
        };
        let result = match name.as_str() {
            "name" => value
                .name()
                .map(|v| set(&mut self.name, value.arg(v), errors)),
            "threshold" => value
                .int(1, u64::from(u32::MAX))
                .map(|v| set(&mut self.threshold, value.arg(v), errors)),
            "failure_rate" => value
                .int(1, 100)
                .map(|v| set(&mut self.failure_rate, value.arg(v), errors)),
            "window" => value
                .window()
                .map(|v| set(&mut self.window, value.arg(v), errors)),
            "min_calls" => value
                .int(1, MAX_COUNT_WINDOW)
                .map(|v| set(&mut self.min_calls, value.arg(v), errors)),
            "reset" => value
                .timing(false)
                .map(|v| set(&mut self.reset, value.arg(v), errors)),
            "probes" => value
                .int(1, MAX_PROBES)
                .map(|v| set(&mut self.probes, value.arg(v), errors)),
            "shared" => value
                .path()
                .map(|v| set(&mut self.shared, value.arg(v), errors)),
            "attempts" => value
                .int(1, MAX_ATTEMPTS)
                .map(|v| set(&mut self.attempts, value.arg(v), errors)),
            "retry" => value
                .granularity()
                .map(|v| set(&mut self.retry, value.arg(v), errors)),
            "backoff" => value
                .timing(true)
                .map(|v| set(&mut self.backoff, value.arg(v), errors)),
            "jitter" => value
                .boolean()
                .map(|v| set(&mut self.jitter, value.arg(v), errors)),
            "timeout" => value
                .duration(false)
                .map(|v| set(&mut self.timeout, value.arg(v), errors)),
            "classify" => value
                .path()
                .map(|v| set(&mut self.classify, value.arg(v), errors)),
            "crate" => value
                .crate_path()
                .map(|v| set(&mut self.krate, value.arg(v), errors)),
            _ => unreachable!("every key of `KEYS` is matched"),
        };
        if let Err(error) = result {
            errors.push(error);
        }
        Ok(())
    }
}

/// Stores a key's value, or reports the key as a duplicate: the one place duplicates are
/// detected, for every key.
fn set<T>(slot: &mut Option<Arg<T>>, arg: Arg<T>, errors: &mut Errors) {
    match slot {
        Some(first) => errors.at(
            arg.key.span(),
            format!(
                "duplicate key `{}`; this attribute already sets `{} = {}`, keep one",
                arg.key,
                arg.key,
                first.key_source(),
            ),
        ),
        None => *slot = Some(arg),
    }
}

impl<T> Arg<T> {
    /// The first value's source text, for the duplicate-key message.
    fn key_source(&self) -> String {
        self.span
            .source_text()
            .unwrap_or_else(|| "a value".to_owned())
    }
}

/// Consumes whatever follows an unusable key, so that parsing goes on to the next key.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn unknown_key(name: &str, attribute: Attribute) -> String {
    let candidates = KEYS
        .iter()
        .map(|(k, ..)| *k)
        .filter(|k| attribute == Attribute::CircuitBreaker || *k != "shared");
    let nearest = candidates
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= k.len().max(3) / 3)
        .min();
    match nearest {
        Some((_, k)) => format!("unknown key `{name}`; did you mean `{k}`?"),
        None => {
            let keys: Vec<String> = KEYS
                .iter()
                .filter(|(k, scope, _)| match attribute {
                    Attribute::CircuitBreaker => true,
                    Attribute::SharedBreaker => *scope != Scope::Call && *k != "shared",
                })
                .map(|(k, ..)| format!("`{k}`"))
                .collect();
            format!("unknown key `{name}`; expected one of {}", keys.join(", "))
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A key's value expression, read as the kind of value the key takes.
struct Value<'a> {
    key: &'a Ident,
    name: &'a str,
    expr: &'a Expr,
}

impl Value<'_> {
    fn arg<T>(&self, value: T) -> Arg<T> {
        Arg {
            key: self.key.clone(),
            value,
            span: span_of(self.expr),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(self.expr, message)
    }

    fn lit(&self) -> Option<&Lit> {
        match self.expr {
            Expr::Lit(ExprLit { lit, .. }) => Some(lit),
            _ => None,
        }
    }

    /// An error for a value of the wrong kind: says what kind is expected, with the user's own
    /// value rewritten when it is just quoted (or unquoted) the wrong way.
    fn wrong_kind(&self, expected: &str) -> syn::Error {
        let rewritten = match self.lit() {
            Some(Lit::Str(s)) if expected == "an integer" && s.value().parse::<u64>().is_ok() => {
                Some(format!("{} = {}", self.name, s.value()))
            }
            Some(Lit::Str(s))
                if expected == "`true` or `false`"
                    && matches!(s.value().as_str(), "true" | "false") =>
            {
                Some(format!("{} = {}", self.name, s.value()))
            }
            Some(Lit::Str(s))
                if expected.starts_with("a path")
                    && syn::parse_str::<syn::Path>(&s.value()).is_ok() =>
            {
                Some(format!("{} = {}", self.name, s.value()))
            }
            Some(Lit::Int(i)) if expected.starts_with("a string") => {
                Some(format!("{} = \"{}\"", self.name, i.base10_digits()))
            }
            _ => None,
        };
        let kind = match self.lit() {
            Some(Lit::Str(_)) => ", not a string",
            Some(Lit::Int(_)) => ", not an integer",
            Some(Lit::Bool(_)) => ", not a bool",
            _ => "",
        };
        match rewritten {
            Some(write) => self.error(format!("expected {expected}{kind}: write `{write}`")),
            None => self.error(format!(
                "expected {expected}, e.g. `{}`",
                example(self.name)
            )),
        }
    }

    /// An integer in `min..=max`.
    fn int(&self, min: u64, max: u64) -> syn::Result<u64> {
        let int = match self.expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(int), ..
            }) => int,
            Expr::Unary(ExprUnary {
                op: UnOp::Neg(_),
                expr,
                ..
            }) if matches!(
                **expr,
                Expr::Lit(ExprLit {
                    lit: Lit::Int(_),
                    ..
                })
            ) =>
            {
                return Err(self.error(format!("`{}` must be at least {min}", self.name)));
            }
            _ => return Err(self.wrong_kind("an integer")),
        };
        if !int.suffix().is_empty() {
            return Err(syn::Error::new(
                int.span(),
                format!(
                    "remove the suffix: write `{} = {}`",
                    self.name,
                    int.base10_digits()
                ),
            ));
        }
        let value = int.base10_parse::<u64>().ok().filter(|v| *v <= max);
        match value {
            Some(v) if v >= min => Ok(v),
            _ if self.name == "failure_rate" => Err(self.error(format!(
                "`failure_rate` is a percent in 1..=100, got {}; e.g. `failure_rate = 50`",
                int.base10_digits()
            ))),
            Some(_) => Err(self.error(format!(
                "`{}` must be at least {min}, got {}",
                self.name,
                int.base10_digits()
            ))),
            None => Err(self.error(format!(
                "`{}` must be in {min}..={max}, got {}",
                self.name,
                int.base10_digits()
            ))),
        }
    }

    fn string(&self) -> syn::Result<(String, Span)> {
        match self.lit() {
            Some(Lit::Str(s)) => Ok((s.value(), s.span())),
            _ => Err(self.wrong_kind("a string")),
        }
    }

    fn name(&self) -> syn::Result<String> {
        let (name, _) = self.string()?;
        if name.is_empty() {
            return Err(self.error("a breaker name must not be empty; e.g. `name = \"payments\"`"));
        }
        Ok(name)
    }

    fn boolean(&self) -> syn::Result<bool> {
        match self.lit() {
            Some(Lit::Bool(b)) => Ok(b.value),
            _ => Err(self.wrong_kind("`true` or `false`")),
        }
    }

    fn path(&self) -> syn::Result<syn::Path> {
        match self.expr {
            Expr::Path(ExprPath {
                qself: None,
                path,
                attrs,
            }) if attrs.is_empty() => Ok(path.clone()),
            _ if self.name == "shared" => {
                Err(self.wrong_kind("a path to a `#[shared_breaker]` static"))
            }
            _ => Err(self.wrong_kind("a path to a fn `fn(&E) -> breakerbox::Verdict`")),
        }
    }

    /// The facade's path, as a string (as serde's `crate` takes it): `"::breakerbox"`,
    /// `"bb"`, `"my_framework::breakerbox"`. Its tokens carry the literal's span, so a path that
    /// does not resolve is reported on the user's string.
    fn crate_path(&self) -> syn::Result<syn::Path> {
        if let Expr::Path(ExprPath { path, .. }) = self.expr {
            let text = quote::ToTokens::to_token_stream(path)
                .to_string()
                .replace(' ', "");
            return Err(self.error(format!(
                "expected the path as a string: write `crate = \"{text}\"`"
            )));
        }
        let (text, span) = self.string()?;
        let mut path: syn::Path = syn::parse_str(&text).map_err(|_| {
            self.error(format!(
                "cannot read `\"{text}\"` as a path to the `breakerbox` crate; e.g. \
                 `crate = \"::breakerbox\"` or `crate = \"my_framework::breakerbox\"`"
            ))
        })?;
        respan(&mut path, span);
        Ok(path)
    }

    fn granularity(&self) -> syn::Result<Granularity> {
        if let Expr::Path(ExprPath { path, .. }) = self.expr
            && let Some(word @ ("per_attempt" | "per_call")) =
                path.get_ident().map(ToString::to_string).as_deref()
        {
            return Err(self.error(format!("expected a string, write `retry = \"{word}\"`")));
        }
        let (word, _) = self.string()?;
        match word.as_str() {
            "per_attempt" => Ok(Granularity::PerAttempt),
            "per_call" => Ok(Granularity::PerCall),
            other => Err(self.error(format!(
                "unknown retry granularity `{other}`; expected `per_attempt` or `per_call`"
            ))),
        }
    }

    /// An integer outcome count or a duration.
    fn window(&self) -> syn::Result<WindowArg> {
        match self.lit() {
            Some(Lit::Int(_)) => self.int(1, MAX_COUNT_WINDOW).map(WindowArg::Count),
            Some(Lit::Str(_)) => {
                let ms = self.duration(false)?;
                if ms < MIN_TIME_WINDOW_MS {
                    return Err(self.error(format!(
                        "a time `window` must be at least {MIN_TIME_WINDOW_MS}ms: it is judged in \
                         20 buckets of whole milliseconds, and a shorter one could not be \
                         honoured; e.g. `window = \"1s\"`"
                    )));
                }
                Ok(WindowArg::Time(ms))
            }
            _ => Err(self.error(
                "expected a count of outcomes or a duration, e.g. `window = 100` or `window = \"60s\"`",
            )),
        }
    }

    /// A duration string in whole milliseconds; zero only where `zero_ok`.
    fn duration(&self, zero_ok: bool) -> syn::Result<u64> {
        let (text, _) = self.string()?;
        if text.contains("..") {
            return Err(self.error(format!(
                "`{}` takes one duration, not a range; e.g. `{}`",
                self.name,
                example(self.name)
            )));
        }
        let ms = parse_duration(text.trim()).map_err(|m| self.error(m))?;
        if ms == 0 && !zero_ok {
            return Err(self.error(format!(
                "`{}` must be at least 1ms, got `\"{text}\"`",
                self.name
            )));
        }
        Ok(ms)
    }

    /// A duration, or a range `"a..b"`; a fixed zero only where `zero_ok`.
    fn timing(&self, zero_ok: bool) -> syn::Result<Timing> {
        let (text, _) = self.string()?;
        let Some((start, end)) = text.split_once("..") else {
            return self.duration(zero_ok).map(Timing::Fixed);
        };
        let (start, end) = (start.trim(), end.trim());
        if start.is_empty() || end.is_empty() || end.starts_with('=') {
            return Err(self.error(format!(
                "a range needs a start and an end, `\"min..max\"`; e.g. `{}`",
                example(self.name)
            )));
        }
        let start_ms = parse_duration(start).map_err(|m| self.error(m))?;
        let end_ms = parse_duration(end).map_err(|m| self.error(m))?;
        if start_ms == 0 {
            return Err(self.error(format!(
                "a `{}` range must start at 1ms or more: it doubles from its start",
                self.name
            )));
        }
        if end_ms < start_ms {
            return Err(self.error(format!(
                "this range ends below its start; write `\"{end}..{start}\"`"
            )));
        }
        Ok(Timing::Range {
            start: start_ms,
            end: end_ms,
        })
    }
}

/// `"250ms"`, `"30s"`, `"5m"`, `"1h"`: whole milliseconds.
fn parse_duration(text: &str) -> Result<u64, String> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let write_instead = "write an integer and a unit: `ms`, `s`, `m` or `h`, e.g. `\"250ms\"`";
    if number.is_empty() {
        return Err(format!(
            "cannot read `\"{text}\"` as a duration; {write_instead}"
        ));
    }
    let per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "the duration `\"{text}\"` has no unit; write `\"{number}ms\"` or `\"{number}s\"`"
            ));
        }
        _ if unit.starts_with('.') => {
            return Err(format!(
                "durations are whole numbers of a unit; write `\"{text}\"` in a smaller unit, e.g. \
                 `\"1500ms\"` for 1.5s"
            ));
        }
        _ => return Err(format!("unknown unit in `\"{text}\"`; {write_instead}")),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(|| {
            format!(
                "the duration `\"{text}\"` overflows a 64-bit count of milliseconds; write a \
                 shorter one"
            )
        })
}

/// Gives every token of `path` the span `span`.
fn respan(path: &mut syn::Path, span: Span) {
    if let Some(colon) = &mut path.leading_colon {
        colon.spans = [span, span];
    }
    for pair in path.segments.pairs_mut() {
        let (segment, punct) = pair.into_tuple();
        segment.ident.set_span(span);
        if let Some(punct) = punct {
            punct.spans = [span, span];
        }
    }
}

/// The span covering an expression; a literal's own span when it is one token.
fn span_of(expr: &Expr) -> Span {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => lit.span(),
        other => syn::spanned::Spanned::span(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert_eq!(parse_duration("30s"), Ok(30_000));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert_eq!(parse_duration("0ms"), Ok(0));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
        assert!(parse_duration("9999999999999999h").is_err());
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("treshold", "threshold"), 1);
        assert_eq!(edit_distance("attempt", "attempts"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("retries", "retry"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            unknown_key("treshold", Attribute::CircuitBreaker),
            "unknown key `treshold`; did you mean `threshold`?"
        );
        assert!(
            unknown_key("colour", Attribute::SharedBreaker)
                .starts_with("unknown key `colour`; expected one of `name`")
        );
    }
}
