//! Validation: the keys together, and the item they are on. Produces the data `expand.rs` writes
//! code from, or every error found, each on the narrowest token, with what to emit beside them.

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute as Attr, FnArg, Ident, ItemFn, Pat, ReturnType, Token, Type};

use crate::args::{
    self, Arg, Args, Attribute, BudgetArg, Errors, Granularity, Nesting, Scope, SharedStatic,
    Timing, WindowArg, example, rewrite_stand_in, scope_of,
};
use crate::limits::{DEFAULT_THRESHOLD, DEFAULT_WINDOW};

/// Attributes that retry or break a fn: stacked with ours, they hide the composition order.
const STACKED: &[&str] = &[
    "circuit_breaker",
    "shared_breaker",
    "retry",
    "retry_async",
    "async_retry",
    "retryable",
    "with_retry",
    "backon",
    "again",
    "tryhard",
    "autoretry",
];

/// What the attribute turns into when something is wrong: the errors, and what to emit beside
/// them so that callers still type-check and nothing else is reported.
pub(crate) struct Invalid {
    pub(crate) errors: syn::Error,
    pub(crate) fallback: Fallback,
}

/// What stands in for the item beside the errors.
pub(crate) enum Fallback {
    /// The item as written: it is not one the attribute takes, or it is usable as it is.
    AsWritten(TokenStream),
    /// The fn as written, minus the attributes rejected on it.
    Fn(Box<ItemFn>),
    /// The shared static, with a breaker of the default settings: the fns that share it still
    /// compile.
    Unconfigured {
        item: Box<SharedStatic>,
        krate: syn::Path,
    },
    /// Nothing: the item cannot be emitted without an error of its own.
    Nothing,
}

/// A breaker's own settings, checked together.
pub(crate) struct BreakerConfig {
    pub(crate) name: Option<String>,
    pub(crate) failures: Failures,
    pub(crate) slow: Option<SlowCalls>,
    /// The window of the rates; given only with a rate.
    pub(crate) window: Option<WindowArg>,
    /// Outcomes before a rate is judged; given only with a rate.
    pub(crate) min_calls: Option<u64>,
    pub(crate) reset: Option<Timing>,
    pub(crate) probes: Option<u64>,
    pub(crate) budget: Option<BudgetArg>,
}

/// What opens the breaker on failures.
pub(crate) enum Failures {
    /// `threshold` failures in a row (the runtime's default when `None`).
    Consecutive { threshold: Option<u64> },
    /// A percent of the window's outcomes.
    Rate { percent: u64 },
}

/// What opens the breaker on slow calls: `percent` of the window's calls slower than `threshold`
/// milliseconds.
pub(crate) struct SlowCalls {
    pub(crate) threshold: u64,
    pub(crate) percent: u64,
}

/// Where a fn's breaker comes from.
pub(crate) enum BreakerSource {
    /// Declared in the fn, with these settings.
    Own(BreakerConfig),
    /// A `#[shared_breaker]` static.
    Shared(syn::Path),
}

/// A call's retry settings, checked together.
pub(crate) struct Policy {
    pub(crate) attempts: u64,
    pub(crate) retry: Option<Granularity>,
    pub(crate) backoff: Option<Timing>,
    pub(crate) jitter: Option<bool>,
    pub(crate) timeout: Option<u64>,
    pub(crate) nested: Option<Nesting>,
}

/// How an argument reaches each attempt when the fn retries.
pub(crate) enum Handoff {
    /// Owned: a clone for each attempt but the last, which gets the original.
    Clone { ty: Box<Type> },
    /// `&mut T`: reborrowed for each attempt.
    Reborrow,
    /// A `mut` argument of a type the compiler copies: each attempt gets a copy to change.
    Copy,
}

/// A named argument that each attempt gets its own of.
pub(crate) struct AttemptArg {
    /// The parameter's `#[cfg]` and `#[cfg_attr]` attributes: the statements that hand the
    /// argument to each attempt exist exactly when the parameter does.
    pub(crate) cfgs: Vec<Attr>,
    pub(crate) ident: Ident,
    pub(crate) mutability: Option<Token![mut]>,
    pub(crate) handoff: Handoff,
}

/// A `#[circuit_breaker]` fn, ready to expand.
pub(crate) struct CircuitBreaker {
    pub(crate) item: ItemFn,
    pub(crate) breaker: BreakerSource,
    pub(crate) policy: Policy,
    pub(crate) classify: Option<syn::Path>,
    /// The declared return type, as written.
    pub(crate) output: Type,
    /// Arguments rebound for each attempt; empty with one attempt.
    pub(crate) attempt_args: Vec<AttemptArg>,
    /// The facade's path: `::breakerbox`, or the `crate = "..."` given.
    pub(crate) krate: syn::Path,
}

/// A `#[shared_breaker]` static, ready to expand.
pub(crate) struct SharedBreaker {
    pub(crate) item: SharedStatic,
    pub(crate) config: BreakerConfig,
    /// The facade's path, as for [`CircuitBreaker::krate`].
    pub(crate) krate: syn::Path,
}

/// Checks a `#[circuit_breaker]`.
pub(crate) fn circuit_breaker(
    args: TokenStream,
    item: TokenStream,
) -> Result<CircuitBreaker, Invalid> {
    let mut errors = Errors::default();
    let args = Args::parse(args, Attribute::CircuitBreaker, &mut errors);
    report_stand_ins(&args, Attribute::CircuitBreaker, &mut errors);
    let krate = facade(&args, Attribute::CircuitBreaker, &mut errors);
    let Some(item_fn) = args::item_fn(&item) else {
        errors.push(not_a_fn(&item));
        return Err(invalid(errors, Fallback::AsWritten(item)));
    };

    let breaker = match (&args.shared, args.key("shared")) {
        (_, None) => BreakerSource::Own(breaker_config(&args, &mut errors)),
        (shared, Some(shared_key)) => {
            let path = shared.as_ref().map_or_else(
                || syn::Path::from(shared_key.clone()),
                |shared| shared.value.clone(),
            );
            for key in &args.given {
                if scope_of(&key.to_string()) == Scope::Breaker && key != "shared" {
                    errors.at(
                        key.span(),
                        format!(
                            "`{key}` configures a breaker, but `shared = {path}` uses the one \
                             `#[shared_breaker]` declares; move `{key}` to that declaration",
                            path = path_text(&path),
                        ),
                    );
                }
            }
            BreakerSource::Shared(path)
        }
    };
    let policy = policy(&args, &breaker, &mut errors);

    let stacked: Vec<&Attr> = item_fn.attrs.iter().filter(|a| is_stacked(a)).collect();
    for attr in &stacked {
        let name = path_text(attr.path());
        let message = if name.ends_with("circuit_breaker") {
            "a fn takes one `#[circuit_breaker]`; merge the two into one attribute: stacked, the \
             order they wrap each other in decides what the breaker counts, and nothing shows it"
                .to_owned()
        } else {
            format!(
                "`#[{name}]` on a `#[circuit_breaker]` fn hides whether the breaker sees each \
                 attempt or each call; remove it and write `attempts = 3, retry = \"per_attempt\"` \
                 (or `\"per_call\"`) in `#[circuit_breaker]`"
            )
        };
        errors.push(syn::Error::new_spanned(attr, message));
    }

    for attr in item_fn.attrs.iter().filter(|a| is_track_caller(a)) {
        errors.push(syn::Error::new_spanned(
            attr,
            "`#[track_caller]` cannot be kept on a `#[circuit_breaker]` fn: its body runs inside \
             the breaker's call wrapper, so `Location::caller()` would name the wrapper; remove \
             `#[track_caller]`",
        ));
    }

    let sig = &item_fn.sig;
    if let Some(constness) = &sig.constness {
        errors.at(
            constness.span,
            "`#[circuit_breaker]` cannot go on a `const fn`: the breaker decides at run time; \
             remove `const`",
        );
    }
    if let (Some(timeout), None) = (args.key("timeout"), &sig.asyncness) {
        errors.at(
            timeout.span(),
            "`timeout` needs an `async fn`: a blocking call cannot be cut off; make the fn \
             `async` or remove `timeout`",
        );
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) => Some((**ty).clone()),
        ReturnType::Default => {
            let close = sig.paren_token.span.close();
            let mut span = TokenStream::new();
            sig.fn_token.to_tokens(&mut span);
            let mut end = Punct::new(';', Spacing::Alone);
            end.set_span(close);
            span.extend([TokenTree::Punct(end)]);
            errors.push(syn::Error::new_spanned(
                span,
                "`#[circuit_breaker]` needs a fn that returns `Result<T, E>`; this one returns \
                 `()`: write `-> Result<(), E>` with an `E` that implements \
                 `From<breakerbox::Rejected>`",
            ));
            None
        }
    };

    let attempts = policy.attempts;
    let mut attempt_args = Vec::new();
    if attempts > 1 {
        for input in &sig.inputs {
            let FnArg::Typed(typed) = input else {
                // `self` in any form is lent to each attempt: it cannot be rebound.
                continue;
            };
            match &*typed.pat {
                Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                    let handoff = match strip(&typed.ty) {
                        Type::Reference(r) if r.mutability.is_some() => Handoff::Reborrow,
                        // Each attempt reads the fn's own, which it cannot change: nothing to
                        // rebind, and no `Clone` bound to check.
                        ty if is_copy(ty) && pat.mutability.is_none() => continue,
                        ty if is_copy(ty) => Handoff::Copy,
                        _ => Handoff::Clone {
                            ty: typed.ty.clone(),
                        },
                    };
                    attempt_args.push(AttemptArg {
                        cfgs: typed
                            .attrs
                            .iter()
                            .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
                            .cloned()
                            .collect(),
                        ident: pat.ident.clone(),
                        mutability: pat.mutability,
                        handoff,
                    });
                }
                Pat::Wild(_) => {}
                pat => errors.push(syn::Error::new_spanned(
                    pat,
                    format!(
                        "with `attempts = {attempts}` each attempt gets its own copy of this \
                         argument, so it needs a name: write `arg: {}` and destructure `arg` in \
                         the body",
                        typed.ty.to_token_stream()
                    ),
                )),
            }
        }
    }

    match (errors.finish(), output) {
        (Ok(()), Some(output)) => Ok(CircuitBreaker {
            item: item_fn,
            breaker,
            policy,
            classify: args.classify.map(|c| c.value),
            output,
            attempt_args,
            krate,
        }),
        (result, _) => {
            let errors = result.err().unwrap_or_else(|| {
                syn::Error::new(
                    Span::call_site(),
                    "`#[circuit_breaker]` needs a return type",
                )
            });
            // Emit the fn as written, minus the attributes rejected above: it stays usable, and
            // the error above stands alone.
            let mut unchanged = item_fn.clone();
            unchanged
                .attrs
                .retain(|a| !is_stacked(a) && !is_track_caller(a));
            Err(Invalid {
                errors,
                fallback: Fallback::Fn(Box::new(unchanged)),
            })
        }
    }
}

/// Checks a `#[shared_breaker]`.
pub(crate) fn shared_breaker(
    args: TokenStream,
    item: TokenStream,
) -> Result<SharedBreaker, Invalid> {
    let mut errors = Errors::default();
    let args = Args::parse(args, Attribute::SharedBreaker, &mut errors);
    report_stand_ins(&args, Attribute::SharedBreaker, &mut errors);
    let krate = facade(&args, Attribute::SharedBreaker, &mut errors);
    for key in &args.given {
        if key == "shared" {
            errors.at(
                key.span(),
                "`shared` goes on the fns that use this breaker: \
                 `#[circuit_breaker(shared = NAME, ..)]`; remove it here",
            );
        } else if scope_of(&key.to_string()) == Scope::Call {
            errors.at(
                key.span(),
                format!(
                    "`{key}` is a per-call setting and goes on each fn that uses this breaker: \
                     `#[circuit_breaker(shared = NAME, {key} = ..)]`; remove it here"
                ),
            );
        }
    }
    let config = breaker_config(&args, &mut errors);
    let tokens = item;
    let Some(item) = args::shared_static(&tokens) else {
        let (keyword, span) =
            args::first_keyword(&tokens).unwrap_or_else(|| ("item".to_owned(), Span::call_site()));
        errors.push(syn::Error::new(
            span,
            format!(
                "`#[shared_breaker]` goes on a `static`, not on a `{keyword}`: write \
                 `pub static PAYMENTS: breakerbox::Breaker;`"
            ),
        ));
        return Err(invalid(errors, Fallback::AsWritten(tokens)));
    };
    if let Some(mutability) = &item.mutability {
        errors.at(
            mutability.span,
            "a shared breaker cannot be `static mut`; remove `mut`",
        );
    }
    if let Some((eq, _)) = &item.init {
        errors.at(
            eq.span,
            "remove the value: `#[shared_breaker]` builds the breaker from its keys, as in \
             `static PAYMENTS: breakerbox::Breaker;`",
        );
    }
    let is_breaker = matches!(strip(&item.ty), Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "Breaker" && s.arguments.is_none()));
    if !is_breaker {
        errors.push(syn::Error::new_spanned(
            &item.ty,
            format!(
                "a shared breaker's type is `breakerbox::Breaker`: write `static {}: breakerbox::Breaker;`",
                item.ident
            ),
        ));
    }
    match errors.finish() {
        Ok(()) => Ok(SharedBreaker {
            item,
            config,
            krate,
        }),
        Err(errors) => {
            // The static as written when it has a value; else a breaker with the default
            // settings stands in, so the fns sharing it still compile and the errors above stand
            // alone. With a wrong type, nothing can stand in.
            let fallback = match (&item.init, is_breaker) {
                (Some(_), _) => Fallback::AsWritten(tokens),
                (None, true) => Fallback::Unconfigured {
                    item: Box::new(item),
                    krate,
                },
                (None, false) => Fallback::Nothing,
            };
            Err(Invalid { errors, fallback })
        }
    }
}

/// The facade's path: the `crate = "..."` given, else `::breakerbox`.
///
/// Without `crate`, a crate that depends on the facade under another name (`bb = { package =
/// "breakerbox", .. }` in its Cargo.toml) would get an unresolved `::breakerbox`; the manifest says
/// what to write, so the error does too. A crate that reaches the facade through a re-export has no
/// such line, and gets rustc's one error on the import.
fn facade(args: &Args, attribute: Attribute, errors: &mut Errors) -> syn::Path {
    if let Some(krate) = &args.krate {
        return krate.value.clone();
    }
    if args.key("crate").is_none()
        && let Some(renamed) = renamed_facade()
    {
        errors.at(
            Span::call_site(),
            format!(
                "this crate depends on `breakerbox` under the name `{renamed}`, so the generated \
                 code cannot find `::breakerbox`; add `crate = \"::{renamed}\"`: \
                 `#[{}(crate = \"::{renamed}\", ..)]`",
                attribute.name()
            ),
        );
    }
    syn::parse_quote!(::breakerbox)
}

/// The name under which the calling crate's manifest renames the facade, when it depends on it
/// only under another name. A line-based reading of the few forms Cargo accepts for a dependency
/// key: `bb = { package = "breakerbox", .. }` and `[dependencies.bb]` followed by
/// `package = "breakerbox"`.
///
/// Read once per crate, not once per attribute: rustc expands every attribute of a crate in one
/// process. Keyed by the manifest's directory, since an IDE's proc-macro server expands the
/// attributes of many crates in one process.
fn renamed_facade() -> Option<String> {
    type Read = Option<(std::ffi::OsString, Option<String>)>;
    static LAST: std::sync::Mutex<Read> = std::sync::Mutex::new(None);
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((read, renamed)) = &*last
        && *read == dir
    {
        return renamed.clone();
    }
    let renamed = std::fs::read_to_string(std::path::Path::new(&dir).join("Cargo.toml"))
        .ok()
        .and_then(|manifest| renamed_in(&manifest));
    *last = Some((dir, renamed.clone()));
    renamed
}

fn renamed_in(manifest: &str) -> Option<String> {
    let mut table_key: Option<String> = None;
    let mut renamed = None;
    for line in manifest.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            // `[dependencies.bb]`, `[target.'cfg(..)'.dev-dependencies.bb]`.
            table_key = header
                .rsplit_once("dependencies.")
                .map(|(_, key)| key.trim_matches('"').to_owned());
            if table_key.as_deref() == Some("breakerbox") {
                return None;
            }
            continue;
        }
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        let names_facade = compact.contains("package=\"breakerbox\"");
        if let Some((key, _)) = compact.split_once('=') {
            let key = key.trim_matches('"');
            // `breakerbox = ..` or `breakerbox.workspace = true`: the facade under its own name.
            if table_key.is_none() && (key == "breakerbox" || key == "breakerbox.workspace") {
                if !names_facade {
                    return None;
                }
            } else if table_key.is_none() && names_facade {
                renamed = Some(key.trim_end_matches(".workspace").to_owned());
            }
        }
        if names_facade && let Some(key) = &table_key {
            renamed = Some(key.clone());
        }
    }
    renamed.filter(|name| name != "breakerbox")
}

fn invalid(errors: Errors, fallback: Fallback) -> Invalid {
    let errors = errors
        .finish()
        .err()
        .unwrap_or_else(|| syn::Error::new(Span::call_site(), "invalid item"));
    Invalid { errors, fallback }
}

fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Reports each unknown key that is another library's name for one of ours, as that key, with a
/// replacement that is accepted where it is written.
fn report_stand_ins(args: &Args, attribute: Attribute, errors: &mut Errors) {
    for stand_in in &args.stand_ins {
        let (written, key) = (&stand_in.written, stand_in.key);
        let head = format!("unknown key `{written}`; did you mean `{key}`?");
        let rewrite = rewrite_stand_in(stand_in);
        let write = rewrite
            .as_ref()
            .map_or_else(|| example(key).to_owned(), |(write, _)| write.clone());
        let message = if args.key(key).is_some() {
            format!("{head} this attribute sets `{key}` already; remove `{written}`")
        } else if attribute == Attribute::SharedBreaker && scope_of(key) == Scope::Call {
            format!(
                "{head} it is a per-call setting and goes on each fn that uses this breaker: \
                 `#[circuit_breaker(shared = NAME, {write})]`; remove it here"
            )
        } else if scope_of(key) == Scope::Breaker
            && let Some(shared) = &args.shared
        {
            format!(
                "{head} it configures a breaker, and `shared = {}` uses the one \
                 `#[shared_breaker]` declares: write `{write}` in that declaration",
                path_text(&shared.value)
            )
        } else {
            match &rewrite {
                Some((write, why)) => {
                    // The rewritten key may need another before it is accepted: say so now.
                    let retry = if key == "attempts"
                        && write != "attempts = 1"
                        && !args.mentions("retry")
                    {
                        "; with more than one attempt, also say what the breaker counts: \
                         `retry = \"per_attempt\"` or `retry = \"per_call\"`"
                    } else {
                        ""
                    };
                    format!("{head} write `{write}`{why}{retry}")
                }
                None => format!("{head} e.g. `{write}`"),
            }
        };
        errors.at(written.span(), message);
    }
}

/// The trip policies (failures, slow calls), their window, and the rest of a breaker's settings.
fn breaker_config(args: &Args, errors: &mut Errors) -> BreakerConfig {
    let both = args.key("threshold").zip(args.key("failure_rate"));
    if let Some((threshold, _)) = both {
        errors.at(
            threshold.span(),
            "`threshold` and `failure_rate` are two trip policies; keep one: `threshold` opens \
             after N failures in a row, `failure_rate` after a percentage of a window",
        );
    }
    if let Some(slow) = args.key("slow")
        && !args.mentions("slow_rate")
    {
        errors.at(
            slow.span(),
            "`slow` says which calls are slow, but nothing opens the breaker on them; add \
             `slow_rate = 50` (the percent of slow calls in the window that opens it), or remove \
             `slow`",
        );
    }
    if let Some(slow_rate) = args.key("slow_rate")
        && !args.mentions("slow")
    {
        errors.at(
            slow_rate.span(),
            "`slow_rate` needs `slow`, the duration beyond which a call is slow; add \
             `slow = \"2s\"`, or remove `slow_rate`",
        );
    }
    let rated = args.mentions("failure_rate") || args.mentions("slow_rate");
    if !rated {
        for key in [args.key("window"), args.key("min_calls")]
            .into_iter()
            .flatten()
        {
            errors.at(
                key.span(),
                format!(
                    "`{key}` only applies to a rate; add `failure_rate = 50` (a rate of failures) \
                     or `slow = \"2s\", slow_rate = 50` (a rate of slow calls), or remove `{key}`"
                ),
            );
        }
    } else if let Some(min_calls) = &args.min_calls {
        let count = match &args.window {
            Some(Arg {
                value: WindowArg::Count(n),
                ..
            }) => Some((*n, true)),
            Some(_) => None,
            None => Some((u64::from(DEFAULT_WINDOW), false)),
        };
        if let Some((window, given)) = count
            && min_calls.value > window
        {
            let what = if given {
                format!("the count `window = {window}`")
            } else {
                format!("the default `window` of {window} outcomes")
            };
            errors.at(
                min_calls.span,
                format!(
                    "`min_calls = {}` exceeds {what}, so the rate would never be judged; use \
                     `min_calls <= {window}` or a larger `window`",
                    min_calls.value
                ),
            );
        }
    }
    let failures = match (&args.failure_rate, both) {
        (Some(percent), None) => Failures::Rate {
            percent: percent.value,
        },
        _ => Failures::Consecutive {
            threshold: args.threshold.as_ref().map(|t| t.value),
        },
    };
    let slow = args
        .slow
        .as_ref()
        .zip(args.slow_rate.as_ref())
        .map(|(slow, rate)| SlowCalls {
            threshold: slow.value,
            percent: rate.value,
        });
    BreakerConfig {
        name: args.name.as_ref().map(|n| n.value.clone()),
        failures,
        slow,
        window: args.window.as_ref().map(|w| w.value),
        min_calls: args.min_calls.as_ref().map(|m| m.value),
        reset: args.reset.as_ref().map(|r| r.value),
        probes: args.probes.as_ref().map(|p| p.value),
        budget: args.budget.as_ref().map(|b| b.value),
    }
}

/// Attempts and what the breaker counts of them: the headline check.
fn policy(args: &Args, breaker: &BreakerSource, errors: &mut Errors) -> Policy {
    let attempts = args.attempts.as_ref().map_or(1, |a| a.value);
    if let Some(given) = &args.attempts
        && attempts > 1
        && args.key("retry").is_none()
    {
        errors.at(given.span, missing_granularity(attempts, breaker));
    }
    // An `attempts` whose value was refused, or an unknown key standing for it, has been reported
    // already.
    if attempts <= 1 && (args.attempts.is_some() || !args.mentions("attempts")) {
        let why = match &args.attempts {
            Some(_) => "with `attempts = 1` the fn never retries",
            None => "without `attempts` the fn makes one attempt and never retries",
        };
        // With `shared`, `budget` is reported as a breaker key that belongs to the declaration.
        let budget = match breaker {
            BreakerSource::Own(_) => args.key("budget"),
            BreakerSource::Shared(_) => None,
        };
        let keys = [
            args.key("retry"),
            args.key("backoff"),
            args.key("jitter"),
            args.key("nested"),
            budget,
        ];
        for key in keys.into_iter().flatten() {
            errors.at(
                key.span(),
                format!(
                    "`{key}` has no effect: {why}; add `attempts = 3` (or more), or remove `{key}`"
                ),
            );
        }
    }
    Policy {
        attempts,
        retry: args.retry.as_ref().map(|r| r.value),
        backoff: args.backoff.as_ref().map(|b| b.value),
        jitter: args.jitter.as_ref().map(|j| j.value),
        timeout: args.timeout.as_ref().map(|t| t.value),
        nested: args.nested.as_ref().map(|n| n.value),
    }
}

/// The message for `attempts > 1` without `retry`, with the user's own numbers.
fn missing_granularity(attempts: u64, breaker: &BreakerSource) -> String {
    let head = format!(
        "`attempts = {attempts}` needs `retry = \"per_attempt\"` or `retry = \"per_call\"` to say \
         what the breaker counts"
    );
    match breaker {
        BreakerSource::Own(BreakerConfig {
            failures: Failures::Consecutive { threshold },
            ..
        }) => {
            let threshold = threshold.unwrap_or(u64::from(DEFAULT_THRESHOLD));
            format!(
                "{head}: with `retry = \"per_attempt\"` the breaker opens after {threshold} failed \
                 requests; with `retry = \"per_call\"` after {} ({threshold} calls x {attempts} \
                 attempts)",
                threshold.saturating_mul(attempts)
            )
        }
        BreakerSource::Own(BreakerConfig {
            failures: Failures::Rate { percent },
            ..
        }) => {
            format!(
                "{head}: with `retry = \"per_attempt\"` the {percent}% failure rate is judged over \
                 attempts (a failing call adds {attempts} failures to the window); with \
                 `retry = \"per_call\"` over calls (one outcome per call, after its retries)"
            )
        }
        BreakerSource::Shared(path) => format!(
            "{head}: with `retry = \"per_attempt\"` `{path}` counts every attempt (a failing call \
             counts {attempts} times); with `retry = \"per_call\"` it counts each call once, after \
             its retries",
            path = path_text(path)
        ),
    }
}

fn is_stacked(attr: &Attr) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| STACKED.iter().any(|name| s.ident == name))
}

/// `#[track_caller]`: the body moves into a closure or an async block, where the caller's
/// location is lost.
fn is_track_caller(attr: &Attr) -> bool {
    attr.path().is_ident("track_caller")
}

/// `T` without the parentheses or invisible groups around it.
/// Whether `ty` is, as written, a type the compiler copies: a shared reference, a primitive
/// number, `bool` or `char`, or a tuple or array of them. Its attempts then share no state a
/// clone would have to separate. (A crate that names a type of its own after a primitive gets a
/// compile error from the rebinding, never a shared value.)
fn is_copy(ty: &Type) -> bool {
    const PRIMITIVES: [&str; 16] = [
        "bool", "char", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16",
        "u32", "u64", "u128", "usize",
    ];
    match strip(ty) {
        Type::Reference(r) => r.mutability.is_none(),
        Type::Path(path) => {
            path.qself.is_none()
                && path.path.leading_colon.is_none()
                && path.path.segments.len() == 1
                && path.path.segments[0].arguments.is_none()
                && PRIMITIVES
                    .iter()
                    .any(|name| path.path.segments[0].ident == name)
        }
        Type::Tuple(tuple) => tuple.elems.iter().all(is_copy),
        Type::Array(array) => is_copy(&array.elem),
        _ => false,
    }
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(p) => strip(&p.elem),
        Type::Group(g) => strip(&g.elem),
        other => other,
    }
}

fn not_a_fn(item: &TokenStream) -> syn::Error {
    match args::first_keyword(item) {
        Some((keyword, span))
            if keyword == "fn" || keyword == "const" && args::has_fn_keyword(item) =>
        {
            syn::Error::new(
                span,
                "`#[circuit_breaker]` needs a fn with a body; in a trait, put it on the fn of \
                 each `impl`",
            )
        }
        Some((keyword, span)) => syn::Error::new(
            span,
            format!(
                "`#[circuit_breaker]` goes on a fn, not on a `{keyword}`; put it on the fn that \
                 calls the service"
            ),
        ),
        None => syn::Error::new(
            Span::call_site(),
            "`#[circuit_breaker]` goes on a fn; put it on the fn that calls the service",
        ),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn messages(args: TokenStream, item: TokenStream) -> Vec<String> {
        match circuit_breaker(args, item) {
            Ok(_) => Vec::new(),
            Err(invalid) => invalid.errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The item emitted beside the errors.
    fn emitted(invalid: &Invalid) -> String {
        match &invalid.fallback {
            Fallback::Fn(item) => item.to_token_stream().to_string(),
            Fallback::AsWritten(tokens) => tokens.to_string(),
            Fallback::Unconfigured { .. } | Fallback::Nothing => String::new(),
        }
    }

    #[test]
    fn every_mistake_is_reported_once() {
        let found = messages(
            quote!(treshold = 5, attempts = 0, reset = "5x", classify = "f"),
            quote!(
                const fn f() -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(found[0].starts_with("unknown key `treshold`; did you mean `threshold`?"));
        assert!(found[1].starts_with("`attempts` must be at least 1, got 0"));
        assert!(found[2].starts_with("unknown unit in `\"5x\"`"));
        assert!(found[3].starts_with("expected a path to a fn `fn(&E) -> breakerbox::Verdict`, not a string: write `classify = f`"));
        assert!(found[4].contains("cannot go on a `const fn`"));
    }

    #[test]
    fn the_fn_is_emitted_as_written_beside_the_errors() {
        let item = quote!(
            #[inline]
            pub fn f(x: u32) -> Result<u32, E> {
                Ok(x)
            }
        );
        let invalid = circuit_breaker(quote!(threshold = 0), item.clone())
            .err()
            .unwrap();
        assert_eq!(emitted(&invalid), item.to_string());
    }

    #[test]
    fn track_caller_is_rejected_and_left_out_of_the_emitted_fn() {
        let invalid = circuit_breaker(
            quote!(threshold = 5),
            quote!(
                #[inline]
                #[track_caller]
                fn f() -> Result<u32, E> {
                    Ok(1)
                }
            ),
        )
        .err()
        .unwrap();
        let found: Vec<String> = invalid
            .errors
            .clone()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            found,
            [
                "`#[track_caller]` cannot be kept on a `#[circuit_breaker]` fn: its body runs \
                 inside the breaker's call wrapper, so `Location::caller()` would name the \
                 wrapper; remove `#[track_caller]`"
            ]
        );
        let without = quote!(
            #[inline]
            fn f() -> Result<u32, E> {
                Ok(1)
            }
        );
        assert_eq!(emitted(&invalid), without.to_string());
    }

    #[test]
    fn a_renamed_facade_is_found_in_the_manifest() {
        let renamed = "[package]\nname = \"app\"\n[dependencies]\nbb = { path = \"..\", package = \"breakerbox\" }\n";
        assert_eq!(renamed_in(renamed).as_deref(), Some("bb"));
        let table = "[dependencies.bb]\npackage = \"breakerbox\"\nversion = \"0.1\"\n";
        assert_eq!(renamed_in(table).as_deref(), Some("bb"));
        let plain = "[dependencies]\nbreakerbox = \"0.1\"\nbb = { package = \"breakerbox\" }\n";
        assert_eq!(renamed_in(plain), None);
        let own = "[dependencies]\nbreakerbox = { path = \"..\" }\n";
        assert_eq!(renamed_in(own), None);
        let workspace = "[dependencies]\nbreakerbox.workspace = true\n";
        assert_eq!(renamed_in(workspace), None);
        assert_eq!(renamed_in("[package]\nname = \"breakerbox\"\n"), None);
    }

    #[test]
    fn a_valid_attribute_is_accepted() {
        let found = messages(
            quote!(
                failure_rate = 50,
                window = "60s",
                min_calls = 20,
                reset = "1s..60s",
                probes = 3,
                attempts = 3,
                retry = "per_call",
                backoff = "100ms..2s",
                jitter = false,
                timeout = "2s",
                classify = classify,
                name = "api",
                slow = "1s",
                slow_rate = 50,
                budget = "10%",
                nested = "retry"
            ),
            quote!(
                async fn f(x: String, y: &mut u32, z: &str) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(found.is_empty(), "{found:#?}");
    }

    fn async_fn() -> TokenStream {
        quote!(
            async fn f() -> Result<(), E> {
                Ok(())
            }
        )
    }

    fn shared_messages(args: TokenStream) -> Vec<String> {
        let item = quote!(
            static S: breakerbox::Breaker;
        );
        match shared_breaker(args, item) {
            Ok(_) => Vec::new(),
            Err(invalid) => invalid.errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn slow_calls_need_both_keys() {
        let found = messages(quote!(slow = "2s"), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`slow` says which calls are slow"));
        let found = messages(quote!(slow_rate = 50, window = 20), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`slow_rate` needs `slow`"));
        let found = messages(quote!(slow = "2s", slow_rate = 101), async_fn());
        assert_eq!(
            found,
            ["`slow_rate` is a percent in 1..=100, got 101; e.g. `slow_rate = 50`"]
        );
    }

    #[test]
    fn a_slow_call_rate_is_a_rate() {
        for args in [
            quote!(slow = "2s", slow_rate = 50, window = "1m", min_calls = 5),
            quote!(threshold = 3, slow = "2s", slow_rate = 50),
            quote!(
                failure_rate = 20,
                slow = "500ms",
                slow_rate = 80,
                window = 50
            ),
        ] {
            let found = messages(args, async_fn());
            assert!(found.is_empty(), "{found:#?}");
        }
        let found = messages(
            quote!(slow = "2s", slow_rate = 50, window = 10, min_calls = 11),
            async_fn(),
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`min_calls = 11` exceeds the count `window = 10`"));
        let found = messages(quote!(window = 10), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`window` only applies to a rate"));
    }

    #[test]
    fn budget() {
        let found = messages(quote!(budget = "20%"), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`budget` has no effect: without `attempts`"));
        let found = messages(
            quote!(budget = "off", attempts = 2, retry = "per_call"),
            async_fn(),
        );
        assert!(found.is_empty(), "{found:#?}");
        // With `shared`, one error: the key belongs to the declaration.
        let found = messages(quote!(shared = S, budget = "20%"), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`budget` configures a breaker, but `shared = S`"));
        assert!(shared_messages(quote!(budget = "5%", threshold = 2)).is_empty());
        for (value, message) in [
            (
                quote!("120%"),
                "a `budget` is a percent in 1..=100 of first attempts, got `\"120%\"`",
            ),
            (
                quote!("20"),
                "a `budget` is a percent of first attempts: write `budget = \"20%\"`",
            ),
            (quote!("0%"), "a `budget` of 0% would refuse every retry"),
            (
                quote!(20),
                "expected a string, not an integer: write `budget = \"20%\"` (a percent",
            ),
            (quote!(off), "expected a string: write `budget = \"off\"`"),
            (quote!("lots"), "cannot read `\"lots\"` as a retry budget"),
        ] {
            let found = shared_messages(quote!(budget = #value));
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(found[0].starts_with(message), "{found:#?}");
        }
    }

    #[test]
    fn nested() {
        let found = messages(quote!(nested = "retry"), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`nested` has no effect: without `attempts`"));
        let found = messages(
            quote!(nested = "single", attempts = 2, retry = "per_call"),
            async_fn(),
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`nested = \"single\"` is the default"));
        let found = shared_messages(quote!(nested = "retry"));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].starts_with("`nested` is a per-call setting"));
    }

    #[test]
    fn a_synonym_is_one_error() {
        let found = messages(quote!(retries = 3, retry = "per_call"), async_fn());
        assert_eq!(
            found,
            [
                "unknown key `retries`; did you mean `attempts`? write `attempts = 4` (3 retries + \
                 the first attempt)"
            ]
        );
        let found = messages(quote!(max_attempts = 3), async_fn());
        assert_eq!(
            found,
            [
                "unknown key `max_attempts`; did you mean `attempts`? write `attempts = 3`; with \
                 more than one attempt, also say what the breaker counts: `retry = \"per_attempt\"` \
                 or `retry = \"per_call\"`"
            ]
        );
        let found = messages(quote!(timeout_ms = 500), async_fn());
        assert_eq!(
            found,
            ["unknown key `timeout_ms`; did you mean `timeout`? write `timeout = \"500ms\"`"]
        );
        let found = messages(quote!(cooldown = 30), async_fn());
        assert_eq!(
            found,
            [
                "unknown key `cooldown`; did you mean `reset`? write `reset = \"30s\"` (or \
                 `\"30ms\"`)"
            ]
        );
        let found = messages(quote!(failure_threshold = 3, attempts = 2), async_fn());
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(
            found[0],
            "unknown key `failure_threshold`; did you mean `threshold`? write `threshold = 3`"
        );
        let found = messages(
            quote!(retries = 2, attempts = 3, retry = "per_call"),
            async_fn(),
        );
        assert_eq!(
            found,
            [
                "unknown key `retries`; did you mean `attempts`? this attribute sets `attempts` \
                 already; remove `retries`"
            ]
        );
        let found = shared_messages(quote!(retries = 2));
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("`#[circuit_breaker(shared = NAME, attempts = 3)]`"));
        let found = messages(quote!(shared = S, half_open_calls = 2), async_fn());
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("write `probes = 2` in that declaration"));
    }

    #[test]
    fn an_integer_duration_suggests_a_string_that_is_accepted() {
        for (key, value, write) in [
            (
                quote!(reset),
                quote!(30),
                "write `reset = \"30s\"` (or `\"30ms\"`)",
            ),
            (
                quote!(slow),
                quote!(2),
                "write `slow = \"2s\"` (or `\"2ms\"`)",
            ),
            (
                quote!(timeout),
                quote!(1500),
                "write `timeout = \"1500ms\"` (or `\"1500s\"`)",
            ),
            (quote!(backoff), quote!(0), "write `backoff = \"0ms\"`"),
        ] {
            let found = messages(
                quote!(#key = #value, attempts = 2, retry = "per_call", slow_rate = 50, slow = "1s"),
                async_fn(),
            );
            assert_eq!(found.len(), 1, "{found:#?}");
            assert!(found[0].starts_with("expected a duration string, not an integer: "));
            assert!(found[0].ends_with(write), "{found:#?}");
        }
        let found = messages(quote!(reset = 0), async_fn());
        assert_eq!(
            found,
            ["expected a duration string, not an integer, e.g. `reset = \"30s\"`"]
        );
    }
}
