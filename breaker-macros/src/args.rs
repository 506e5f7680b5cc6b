//! Parsing: the attribute's `key = value` list into typed values, every literal checked on its own,
//! and the item the attribute is on into its syntax tree.
//!
//! Whether the keys make sense together, and with the item they are on, is `validate.rs`'s job.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{
    Attribute as Attr, Expr, ExprLit, ExprPath, ExprUnary, Ident, ItemFn, Lit, Token, Type, UnOp,
    Visibility,
};

use crate::limits::{MAX_ATTEMPTS, MAX_COUNT_WINDOW, MAX_PERCENT, MAX_PROBES, MIN_TIME_WINDOW};

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

/// The shortest time `window`, in the whole milliseconds the attribute's durations are counted in.
const MIN_TIME_WINDOW_MS: u64 = MIN_TIME_WINDOW.as_millis() as u64;

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
    ("slow", Scope::Breaker, "slow = \"2s\""),
    ("slow_rate", Scope::Breaker, "slow_rate = 50"),
    ("window", Scope::Breaker, "window = 100"),
    ("min_calls", Scope::Breaker, "min_calls = 10"),
    ("reset", Scope::Breaker, "reset = \"30s\""),
    ("probes", Scope::Breaker, "probes = 1"),
    ("budget", Scope::Breaker, "budget = \"20%\""),
    ("shared", Scope::Breaker, "shared = PAYMENTS"),
    ("attempts", Scope::Call, "attempts = 3"),
    ("retry", Scope::Call, "retry = \"per_call\""),
    ("backoff", Scope::Call, "backoff = \"100ms..2s\""),
    ("jitter", Scope::Call, "jitter = false"),
    ("timeout", Scope::Call, "timeout = \"2s\""),
    ("classify", Scope::Call, "classify = classify_error"),
    ("nested", Scope::Call, "nested = \"retry\""),
    ("crate", Scope::Expansion, "crate = \"::breakerbox\""),
];

/// What other libraries call our keys. An unknown key among these is reported as that key, with
/// its value rewritten where the two differ in meaning, and it stands for that key in the checks
/// of combinations, so one mistake is one error.
const SYNONYMS: &[(&str, &str)] = &[
    ("retries", "attempts"),
    ("max_retries", "attempts"),
    ("max_attempts", "attempts"),
    ("tries", "attempts"),
    ("max_tries", "attempts"),
    ("timeout_ms", "timeout"),
    ("timeout_secs", "timeout"),
    ("failure_threshold", "threshold"),
    ("max_failures", "threshold"),
    ("consecutive_failures", "threshold"),
    ("cooldown", "reset"),
    ("reset_timeout", "reset"),
    ("open_for", "reset"),
    ("recovery_timeout", "reset"),
    ("half_open_calls", "probes"),
    ("half_open_requests", "probes"),
    ("error_rate", "failure_rate"),
    ("failure_rate_threshold", "failure_rate"),
    ("slow_call_duration", "slow"),
    ("slow_call_rate", "slow_rate"),
    ("minimum_calls", "min_calls"),
    ("window_size", "window"),
    ("retry_budget", "budget"),
    ("granularity", "retry"),
    ("delay", "backoff"),
    ("classifier", "classify"),
];

/// The keys whose value is a duration string.
const DURATION_KEYS: &[&str] = &["reset", "backoff", "timeout", "slow"];

pub(crate) fn scope_of(key: &str) -> Scope {
    KEYS.iter()
        .find(|(k, ..)| *k == key)
        .map_or(Scope::Breaker, |(_, scope, _)| *scope)
}

pub(crate) fn example(key: &str) -> &'static str {
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

/// A rate's window: the last N outcomes, or the outcomes of the last T milliseconds.
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

/// The retry budget: a percent of first attempts, or none.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BudgetArg {
    Off,
    Percent(u64),
}

/// What a retrying fn does inside another retrying call; `nested = "retry"` is the only value the
/// attribute takes, since a single attempt there is the default.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nesting {
    Retry,
}

/// An unknown key that another library's name for one of ours: reported once, and standing for
/// `key` in the checks of combinations.
pub(crate) struct StandIn {
    /// The key as written.
    pub(crate) written: Ident,
    /// The key it stands for.
    pub(crate) key: &'static str,
    /// Its value, when it has one.
    pub(crate) value: Option<Expr>,
}

/// The attribute's keys, each parsed and checked on its own.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<Arg<String>>,
    pub(crate) threshold: Option<Arg<u64>>,
    pub(crate) failure_rate: Option<Arg<u64>>,
    pub(crate) slow: Option<Arg<u64>>,
    pub(crate) slow_rate: Option<Arg<u64>>,
    pub(crate) window: Option<Arg<WindowArg>>,
    pub(crate) min_calls: Option<Arg<u64>>,
    pub(crate) reset: Option<Arg<Timing>>,
    pub(crate) probes: Option<Arg<u64>>,
    pub(crate) budget: Option<Arg<BudgetArg>>,
    pub(crate) shared: Option<Arg<syn::Path>>,
    pub(crate) attempts: Option<Arg<u64>>,
    pub(crate) retry: Option<Arg<Granularity>>,
    pub(crate) backoff: Option<Arg<Timing>>,
    pub(crate) jitter: Option<Arg<bool>>,
    pub(crate) timeout: Option<Arg<u64>>,
    pub(crate) classify: Option<Arg<syn::Path>>,
    pub(crate) nested: Option<Arg<Nesting>>,
    pub(crate) krate: Option<Arg<syn::Path>>,
    /// Every known key given, its value valid or not: the checks of combinations go by these, so
    /// a bad value is reported once, not again as a missing key.
    pub(crate) given: Vec<Ident>,
    /// Unknown keys that are another library's name for one of ours, in the order written.
    pub(crate) stand_ins: Vec<StandIn>,
}

impl Args {
    /// The first `name` key given, whatever its value.
    pub(crate) fn key(&self, name: &str) -> Option<&Ident> {
        self.given.iter().find(|key| *key == name)
    }

    /// Whether `name` was given, or an unknown key that stands for it (already reported): a check
    /// of combinations that would report `name` as missing stays silent.
    pub(crate) fn mentions(&self, name: &str) -> bool {
        self.key(name).is_some() || self.stand_ins.iter().any(|s| s.key == name)
    }

    /// Parses `tokens`, pushing every mistake to `errors` and keeping the keys that parsed.
    /// Unknown keys that stand for one of ours are kept in [`Args::stand_ins`], for `validate.rs`
    /// to report once it knows the other keys.
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
            if let Some((_, canonical)) = SYNONYMS.iter().find(|(s, _)| *s == name) {
                let value = if meta.input.peek(Token![=]) {
                    Some(meta.value()?.parse::<Expr>()?)
                } else {
                    skip_value(meta)?;
                    None
                };
                self.stand_ins.push(StandIn {
                    written: key,
                    key: canonical,
                    value,
                });
            } else {
                skip_value(meta)?;
                errors.at(key.span(), unknown_key(&name, attribute));
            }
            return Ok(());
        }
        if !meta.input.peek(Token![=]) {
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
        let percent = u64::from(MAX_PERCENT);
        let result = match name.as_str() {
            "name" => value
                .name()
                .map(|v| set(&mut self.name, value.arg(v), errors)),
            "threshold" => value
                .int(1, u64::from(u32::MAX))
                .map(|v| set(&mut self.threshold, value.arg(v), errors)),
            "failure_rate" => value
                .int(1, percent)
                .map(|v| set(&mut self.failure_rate, value.arg(v), errors)),
            "slow" => value
                .duration(false)
                .map(|v| set(&mut self.slow, value.arg(v), errors)),
            "slow_rate" => value
                .int(1, percent)
                .map(|v| set(&mut self.slow_rate, value.arg(v), errors)),
            "window" => value
                .window()
                .map(|v| set(&mut self.window, value.arg(v), errors)),
            "min_calls" => value
                .int(1, u64::from(MAX_COUNT_WINDOW))
                .map(|v| set(&mut self.min_calls, value.arg(v), errors)),
            "reset" => value
                .timing(false)
                .map(|v| set(&mut self.reset, value.arg(v), errors)),
            "probes" => value
                .int(1, u64::from(MAX_PROBES))
                .map(|v| set(&mut self.probes, value.arg(v), errors)),
            "budget" => value
                .budget()
                .map(|v| set(&mut self.budget, value.arg(v), errors)),
            "shared" => value
                .path()
                .map(|v| set(&mut self.shared, value.arg(v), errors)),
            "attempts" => value
                .int(1, u64::from(MAX_ATTEMPTS))
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
            "nested" => value
                .nesting()
                .map(|v| set(&mut self.nested, value.arg(v), errors)),
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
                first.source(),
            ),
        ),
        None => *slot = Some(arg),
    }
}

impl<T> Arg<T> {
    /// The value's source text, for messages that quote it.
    pub(crate) fn source(&self) -> String {
        self.span
            .source_text()
            .unwrap_or_else(|| "a value".to_owned())
    }
}

/// Consumes whatever follows an unusable key, so that parsing goes on to the next key.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

/// The keys an attribute takes: on `#[shared_breaker]`, neither `shared` nor the call keys.
fn keys_of(attribute: Attribute) -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(move |(k, scope, _)| match attribute {
            Attribute::CircuitBreaker => true,
            Attribute::SharedBreaker => *scope != Scope::Call && *k != "shared",
        })
        .map(|(k, ..)| *k)
}

fn unknown_key(name: &str, attribute: Attribute) -> String {
    let nearest = keys_of(attribute)
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= k.len().max(3) / 3)
        .min();
    match nearest {
        Some((_, k)) => format!("unknown key `{name}`; did you mean `{k}`?"),
        None => {
            let keys: Vec<String> = keys_of(attribute).map(|k| format!("`{k}`")).collect();
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

/// What to write instead of a stand-in: `key = value` with the user's value rewritten for our
/// key, and why the number changed, when it did; `None` when the value says nothing we can reuse.
pub(crate) fn rewrite_stand_in(stand_in: &StandIn) -> Option<(String, String)> {
    let key = stand_in.key;
    let written = stand_in.written.to_string();
    let expr = stand_in.value.as_ref()?;
    let value = Value {
        key: &stand_in.written,
        name: key,
        expr,
    };
    if let Some(Lit::Int(int)) = value.lit() {
        let n = int.base10_parse::<u64>().ok()?;
        if key == "attempts" && written.contains("retries") {
            let attempts = n.checked_add(1).filter(|a| *a <= u64::from(MAX_ATTEMPTS))?;
            let retries = if n == 1 { "retry" } else { "retries" };
            return Some((
                format!("attempts = {attempts}"),
                format!(" ({n} {retries} + the first attempt)"),
            ));
        }
        if DURATION_KEYS.contains(&key) {
            // The unit the other library's name carries, else a guess.
            let unit = if written.ends_with("_ms") {
                Some("ms")
            } else if written.ends_with("_secs") {
                Some("s")
            } else {
                None
            };
            return match unit {
                Some(unit) => {
                    let text = format!("{n}{unit}");
                    value
                        .accepts(&text)
                        .then(|| (format!("{key} = \"{text}\""), String::new()))
                }
                None => value
                    .int_as_duration(n)
                    .map(|(first, other)| (format!("{key} = \"{first}\""), other)),
            };
        }
    }
    value
        .parses()
        .then(|| (format!("{key} = {}", source_of(expr)), String::new()))
}

/// An expression as the user wrote it.
fn source_of(expr: &Expr) -> String {
    span_of(expr)
        .source_text()
        .unwrap_or_else(|| quote::ToTokens::to_token_stream(expr).to_string())
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

    /// Whether the value is a valid value of the key (`name`).
    fn parses(&self) -> bool {
        match self.name {
            "name" => self.name().is_ok(),
            "threshold" => self.int(1, u64::from(u32::MAX)).is_ok(),
            "failure_rate" | "slow_rate" => self.int(1, u64::from(MAX_PERCENT)).is_ok(),
            "min_calls" => self.int(1, u64::from(MAX_COUNT_WINDOW)).is_ok(),
            "probes" => self.int(1, u64::from(MAX_PROBES)).is_ok(),
            "attempts" => self.int(1, u64::from(MAX_ATTEMPTS)).is_ok(),
            "slow" | "timeout" => self.duration(false).is_ok(),
            "reset" => self.timing(false).is_ok(),
            "backoff" => self.timing(true).is_ok(),
            "window" => self.window().is_ok(),
            "budget" => self.budget().is_ok(),
            "retry" => self.granularity().is_ok(),
            "jitter" => self.boolean().is_ok(),
            "nested" => self.nesting().is_ok(),
            "shared" | "classify" => self.path().is_ok(),
            _ => false,
        }
    }

    /// Whether the duration string `text` is a valid value of this duration key.
    fn accepts(&self, text: &str) -> bool {
        let ms = parse_duration(text);
        match self.name {
            "backoff" => ms.is_ok(),
            _ => ms.is_ok_and(|ms| ms > 0),
        }
    }

    /// An integer given to a duration key, as a duration string this key accepts: in seconds, the
    /// likelier unit for a small number, or in milliseconds from 1000 on; with the other unit as
    /// the alternative to mention.
    fn int_as_duration(&self, n: u64) -> Option<(String, String)> {
        if n == 0 {
            return self
                .accepts("0ms")
                .then(|| ("0ms".to_owned(), String::new()));
        }
        let (first, other) = if n >= 1000 {
            (format!("{n}ms"), format!("{n}s"))
        } else {
            (format!("{n}s"), format!("{n}ms"))
        };
        if !self.accepts(&first) {
            return None;
        }
        let other = if self.accepts(&other) {
            format!(" (or `\"{other}\"`)")
        } else {
            String::new()
        };
        Some((first, other))
    }

    /// An error for a value of the wrong kind: says what kind is expected, with the user's own
    /// value rewritten when it is just quoted (or unquoted) the wrong way.
    fn wrong_kind(&self, expected: &str) -> syn::Error {
        let duration = DURATION_KEYS.contains(&self.name);
        let rewritten = match self.lit() {
            Some(Lit::Str(s)) if expected == "an integer" && s.value().parse::<u64>().is_ok() => {
                Some((format!("{} = {}", self.name, s.value()), String::new()))
            }
            Some(Lit::Str(s))
                if expected == "`true` or `false`"
                    && matches!(s.value().as_str(), "true" | "false") =>
            {
                Some((format!("{} = {}", self.name, s.value()), String::new()))
            }
            Some(Lit::Str(s))
                if expected.starts_with("a path")
                    && syn::parse_str::<syn::Path>(&s.value()).is_ok() =>
            {
                Some((format!("{} = {}", self.name, s.value()), String::new()))
            }
            Some(Lit::Int(i)) if duration => i
                .base10_parse::<u64>()
                .ok()
                .and_then(|n| self.int_as_duration(n))
                .map(|(first, other)| (format!("{} = \"{first}\"", self.name), other)),
            Some(Lit::Int(i)) if expected.starts_with("a string") => Some((
                format!("{} = \"{}\"", self.name, i.base10_digits()),
                String::new(),
            )),
            _ => None,
        };
        let expected = if duration && expected.starts_with("a string") {
            "a duration string"
        } else {
            expected
        };
        let kind = match self.lit() {
            Some(Lit::Str(_)) => ", not a string",
            Some(Lit::Int(_)) => ", not an integer",
            Some(Lit::Bool(_)) => ", not a bool",
            _ => "",
        };
        match rewritten {
            Some((write, or)) => {
                self.error(format!("expected {expected}{kind}: write `{write}`{or}"))
            }
            None => self.error(format!(
                "expected {expected}{kind}, e.g. `{}`",
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
            _ if matches!(self.name, "failure_rate" | "slow_rate") => Err(self.error(format!(
                "`{}` is a percent in 1..={MAX_PERCENT}, got {}; e.g. `{}`",
                self.name,
                int.base10_digits(),
                example(self.name)
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

    /// The bare word the user wrote where a string was expected, if any: `retry = per_call`.
    fn word(&self) -> Option<String> {
        match self.expr {
            Expr::Path(ExprPath { path, .. }) => path.get_ident().map(ToString::to_string),
            _ => None,
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
        if let Some(word @ ("per_attempt" | "per_call")) = self.word().as_deref() {
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

    /// `"20%"` or `"off"`.
    fn budget(&self) -> syn::Result<BudgetArg> {
        match (self.lit(), self.word().as_deref()) {
            (Some(Lit::Int(int)), _) => {
                return Err(match int.base10_parse::<u64>() {
                    Ok(n @ 1..=100) => self.error(format!(
                        "expected a string, not an integer: write `budget = \"{n}%\"` (a percent \
                         of first attempts)"
                    )),
                    _ => self.error(format!(
                        "expected a string, not an integer: a `budget` is a percent in \
                         1..={MAX_PERCENT} of first attempts, e.g. `budget = \"20%\"`, or `\"off\"`"
                    )),
                });
            }
            (_, Some(word @ "off")) => {
                return Err(self.error(format!("expected a string: write `budget = \"{word}\"`")));
            }
            _ => {}
        }
        let (text, _) = self.string()?;
        let text = text.trim();
        if text == "off" {
            return Ok(BudgetArg::Off);
        }
        let (number, percent_sign) = match text.strip_suffix('%') {
            Some(number) => (number.trim(), true),
            None => (text, false),
        };
        match number.parse::<u64>() {
            Ok(0) => Err(self.error(
                "a `budget` of 0% would refuse every retry: write `budget = \"off\"` to retry \
                 without a budget, or remove `attempts` and `budget` to make a single attempt",
            )),
            Ok(n @ 1..=100) if percent_sign => Ok(BudgetArg::Percent(n)),
            Ok(n @ 1..=100) => Err(self.error(format!(
                "a `budget` is a percent of first attempts: write `budget = \"{n}%\"`"
            ))),
            Ok(_) => Err(self.error(format!(
                "a `budget` is a percent in 1..={MAX_PERCENT} of first attempts, got `\"{text}\"`; \
                 e.g. `budget = \"20%\"`, or `budget = \"off\"`"
            ))),
            Err(_) => Err(self.error(format!(
                "cannot read `\"{text}\"` as a retry budget; expected a whole percent of first \
                 attempts such as `budget = \"20%\"`, or `budget = \"off\"`"
            ))),
        }
    }

    /// `"retry"`: a single attempt inside another retrying call is the default, and has no word.
    fn nesting(&self) -> syn::Result<Nesting> {
        let single = "without `nested`, a fn called inside another retrying call makes a single \
                      attempt";
        if let Some(Lit::Bool(b)) = self.lit() {
            return Err(if b.value {
                self.error("expected a string, not a bool: write `nested = \"retry\"`")
            } else {
                self.error(format!(
                    "`nested = false` is the default: {single}; remove `nested`"
                ))
            });
        }
        if let Some(word @ ("retry" | "single")) = self.word().as_deref() {
            return Err(self.error(format!("expected a string, write `nested = \"{word}\"`")));
        }
        let (word, _) = self.string()?;
        match word.as_str() {
            "retry" => Ok(Nesting::Retry),
            "single" => Err(self.error(format!(
                "`nested = \"single\"` is the default: {single}; remove `nested`, or write \
                 `nested = \"retry\"` to retry there too"
            ))),
            other => Err(self.error(format!(
                "unknown `nested` value `{other}`; expected `\"retry\"` ({single})"
            ))),
        }
    }

    /// An integer outcome count or a duration.
    fn window(&self) -> syn::Result<WindowArg> {
        match self.lit() {
            Some(Lit::Int(_)) => self
                .int(1, u64::from(MAX_COUNT_WINDOW))
                .map(WindowArg::Count),
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

/// The fn `#[circuit_breaker]` is on, if the item is one with a body. The body's statements are
/// kept as written, unparsed, behind its inner attributes: the expansion moves them into the
/// attempt as they are, rustc parses them anyway, and parsing every statement of every annotated
/// fn here (with a debug build of `syn`, as proc macros usually are) was a third of the
/// attribute's own run time. A body rustc cannot parse is reported by rustc, where it is.
pub(crate) fn item_fn(item: &TokenStream) -> Option<ItemFn> {
    let parser = |input: ParseStream<'_>| {
        let mut attrs = input.call(Attr::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body;
        let brace_token = syn::braced!(body in input);
        attrs.extend(body.call(Attr::parse_inner)?);
        let stmts: TokenStream = body.parse()?;
        Ok(ItemFn {
            attrs,
            vis,
            sig,
            block: Box::new(syn::Block {
                brace_token,
                stmts: vec![syn::Stmt::Expr(Expr::Verbatim(stmts), None)],
            }),
        })
    };
    parser.parse2(item.clone()).ok()
}

/// `static NAME: breakerbox::Breaker;`, as `#[shared_breaker]` takes it.
pub(crate) struct SharedStatic {
    pub(crate) attrs: Vec<Attr>,
    pub(crate) vis: Visibility,
    pub(crate) static_token: Token![static],
    pub(crate) mutability: Option<Token![mut]>,
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) init: Option<(Token![=], Expr)>,
}

impl Parse for SharedStatic {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attr::parse_outer)?;
        let vis = input.parse()?;
        let static_token = input.parse()?;
        let mutability = input.parse()?;
        let ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        let init = if input.peek(Token![=]) {
            Some((input.parse()?, input.parse()?))
        } else {
            None
        };
        input.parse::<Token![;]>()?;
        Ok(SharedStatic {
            attrs,
            vis,
            static_token,
            mutability,
            ident,
            ty,
            init,
        })
    }
}

/// The static `#[shared_breaker]` is on, if the item is one.
pub(crate) fn shared_static(item: &TokenStream) -> Option<SharedStatic> {
    syn::parse2(item.clone()).ok()
}

/// The keyword that says what an item is (`struct`, `impl`, ...), after its attributes and
/// visibility.
pub(crate) fn first_keyword(item: &TokenStream) -> Option<(String, Span)> {
    let parser = |input: ParseStream<'_>| {
        input.call(Attr::parse_outer)?;
        input.parse::<Visibility>()?;
        let mut found = None;
        while !input.is_empty() {
            match input.parse::<TokenTree>()? {
                TokenTree::Ident(ident)
                    if !matches!(
                        ident.to_string().as_str(),
                        "async" | "unsafe" | "extern" | "default"
                    ) =>
                {
                    found = Some((ident.to_string(), ident.span()));
                    break;
                }
                _ => {}
            }
        }
        let _: TokenStream = input.parse()?;
        Ok(found)
    };
    parser.parse2(item.clone()).ok().flatten()
}

/// Whether the item has a `fn` keyword anywhere at its top level (a fn without a body).
pub(crate) fn has_fn_keyword(item: &TokenStream) -> bool {
    item.clone()
        .into_iter()
        .any(|t| matches!(t, TokenTree::Ident(i) if i == "fn"))
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
        // A call key is not suggested where it cannot go.
        assert!(
            unknown_key("attempt", Attribute::SharedBreaker)
                .starts_with("unknown key `attempt`; expected one of")
        );
    }

    #[test]
    fn every_synonym_names_a_key() {
        for (synonym, key) in SYNONYMS {
            assert!(KEYS.iter().any(|(k, ..)| k == key), "{synonym} -> {key}");
            assert!(!KEYS.iter().any(|(k, ..)| k == synonym), "{synonym}");
        }
    }

    fn stand_in(written: &str, key: &'static str, value: &str) -> StandIn {
        StandIn {
            written: Ident::new(written, Span::call_site()),
            key,
            value: Some(syn::parse_str(value).unwrap()),
        }
    }

    #[test]
    fn stand_ins_are_rewritten_in_our_terms() {
        let rewrite = |w, k, v| rewrite_stand_in(&stand_in(w, k, v));
        assert_eq!(
            rewrite("retries", "attempts", "3"),
            Some((
                "attempts = 4".to_owned(),
                " (3 retries + the first attempt)".to_owned()
            ))
        );
        assert_eq!(
            rewrite("max_attempts", "attempts", "3"),
            Some(("attempts = 3".to_owned(), String::new()))
        );
        assert_eq!(rewrite("retries", "attempts", "100"), None);
        assert_eq!(
            rewrite("timeout_ms", "timeout", "500"),
            Some(("timeout = \"500ms\"".to_owned(), String::new()))
        );
        assert_eq!(
            rewrite("cooldown", "reset", "30"),
            Some(("reset = \"30s\"".to_owned(), " (or `\"30ms\"`)".to_owned()))
        );
        assert_eq!(
            rewrite("cooldown", "reset", "\"1s..1m\""),
            Some(("reset = \"1s..1m\"".to_owned(), String::new()))
        );
        assert_eq!(rewrite("cooldown", "reset", "0"), None);
        assert_eq!(rewrite("half_open_calls", "probes", "\"x\""), None);
    }
}
