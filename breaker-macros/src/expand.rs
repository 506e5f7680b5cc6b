//! Expansion: code written from validated data only.
//!
//! Everything is named through one import, `use ::breakerbox::__private as __breaker_private;` (or
//! the path given with `crate = "..."`), `core` included, so a crate with
//! `#![no_implicit_prelude]`, its own `Result` or a module named `core` compiles. Going through one
//! import also means that a facade the compiler cannot find is one error, on that import, instead
//! of one per generated path.
//! Generated locals carry `Span::mixed_site()`: the user's body cannot see them, nor they it.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;

use crate::args::{BudgetArg, Granularity, Nesting, SharedStatic, Timing, WindowArg};
use crate::limits::{
    DEFAULT_BACKOFF_CAP, DEFAULT_BACKOFF_START, DEFAULT_BUDGET_PERCENT, DEFAULT_MIN_CALLS,
    DEFAULT_PROBES, DEFAULT_RESET, DEFAULT_THRESHOLD, DEFAULT_WINDOW,
};
use crate::validate::{
    AttemptArg, BreakerConfig, BreakerSource, CircuitBreaker, Failures, Fallback, Handoff, Invalid,
    Policy, SharedBreaker,
};

/// `__breaker_private::core::time::Duration::from_millis(ms)`.
fn millis(ms: u64) -> TokenStream {
    let ms = Literal::u64_unsuffixed(ms);
    quote!(__breaker_private::core::time::Duration::from_millis(#ms))
}

/// The import every generated path goes through. Its path carries the span of the user's
/// `crate = "..."` value when there is one, so a wrong path is reported there.
pub(crate) fn facade_import(krate: &syn::Path) -> TokenStream {
    quote!(use #krate::__private as __breaker_private;)
}

/// `__breaker_private`, as one token: quoted into the expansion a hundred times, an identifier is
/// cheaper to splice than a token stream.
fn private() -> proc_macro2::Ident {
    proc_macro2::Ident::new("__breaker_private", Span::call_site())
}

/// `__breaker_private` with the span of the user's token that the glue stands for, so that
/// rustc's errors about the glue land on that token.
fn private_at(at: Span) -> proc_macro2::Ident {
    proc_macro2::Ident::new("__breaker_private", at)
}

fn int(n: u64) -> Literal {
    Literal::u64_unsuffixed(n)
}

/// `concat!(module_path!(), "::item")`: a default name, or a call site's fn path.
fn path_of(item: &syn::Ident) -> TokenStream {
    let suffix = format!("::{}", item.unraw());
    quote! {
        __breaker_private::concat!(__breaker_private::module_path!(), #suffix)
    }
}

/// `file!(), line!()` of the item, for the registry's messages.
fn location(at: Span) -> TokenStream {
    quote_spanned! {at=>
        __breaker_private::file!(), __breaker_private::line!()
    }
}

/// The arguments of `Breaker::__attribute(name, file, line, ...)`, which builds the breaker in a
/// `static`: the final values, with the defaults filled in. The builder chain
/// (`Config::builder(name).threshold(5)...build()`) would give the same configuration, but the
/// compiler interprets it, checks included, once per annotated fn; this is one short call.
fn config(config: &BreakerConfig, default_name: TokenStream, at: Span) -> TokenStream {
    let name = match &config.name {
        Some(name) => quote!(#name),
        None => default_name,
    };
    let (threshold, failure_rate) = match config.failures {
        Failures::Consecutive { threshold } => {
            (threshold.unwrap_or(u64::from(DEFAULT_THRESHOLD)), 0)
        }
        Failures::Rate { percent } => (0, percent),
    };
    let (slow_ms, slow_rate) = match &config.slow {
        Some(slow) => (slow.threshold, slow.percent),
        None => (0, 0),
    };
    let (window, window_ms) = match config.window {
        Some(WindowArg::Count(n)) => (n, 0),
        Some(WindowArg::Time(ms)) => (0, ms),
        None => (u64::from(DEFAULT_WINDOW), 0),
    };
    let min_calls = config.min_calls.unwrap_or(u64::from(DEFAULT_MIN_CALLS));
    let (reset_ms, reset_max_ms) = match config.reset {
        Some(Timing::Fixed(ms)) => (ms, 0),
        Some(Timing::Range { start, end }) => (start, end),
        None => (millis_of(DEFAULT_RESET), 0),
    };
    let probes = config.probes.unwrap_or(u64::from(DEFAULT_PROBES));
    let budget = match config.budget {
        Some(BudgetArg::Off) => 0,
        Some(BudgetArg::Percent(percent)) => percent,
        None => u64::from(DEFAULT_BUDGET_PERCENT),
    };
    let numbers = [
        threshold,
        failure_rate,
        slow_ms,
        slow_rate,
        window,
        window_ms,
        min_calls,
        reset_ms,
        reset_max_ms,
        probes,
        budget,
    ]
    .map(int);
    let location = location(at);
    quote!(#name, #location, #(#numbers),*)
}

/// The retry settings among the arguments of `CallSite::__attribute(...)`: the final values, with
/// the defaults filled in (see [`config`] for why not the builder chain).
fn policy(policy: &Policy) -> TokenStream {
    let p = private();
    let attempts = int(policy.attempts);
    let granularity = match policy.retry {
        Some(Granularity::PerAttempt) => quote!(#p::Granularity::PerAttempt),
        Some(Granularity::PerCall) | None => quote!(#p::Granularity::PerCall),
    };
    let (backoff_ms, backoff_cap_ms, exponential) = match policy.backoff {
        Some(Timing::Fixed(ms)) => (ms, 0, false),
        Some(Timing::Range { start, end }) => (start, end, true),
        None => (
            millis_of(DEFAULT_BACKOFF_START),
            millis_of(DEFAULT_BACKOFF_CAP),
            true,
        ),
    };
    let [backoff_ms, backoff_cap_ms, timeout_ms] =
        [backoff_ms, backoff_cap_ms, policy.timeout.unwrap_or(0)].map(int);
    let jitter = policy.jitter.unwrap_or(true);
    let nested = match policy.nested {
        Some(Nesting::Retry) => quote!(#p::Nested::Retry),
        None => quote!(#p::Nested::Single),
    };
    quote! {
        #attempts, #granularity, #backoff_ms, #backoff_cap_ms, #exponential, #jitter,
        #timeout_ms, #nested,
    }
}

/// A default duration of `limits`, in the attribute's whole milliseconds.
fn millis_of(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The fn with its body replaced by the call loop; signature, attributes and docs as written.
pub(crate) fn circuit_breaker(cb: CircuitBreaker) -> TokenStream {
    let body = body(&cb);
    let mut item = cb.item;
    let brace_token = item.block.brace_token;
    *item.block = syn::Block {
        brace_token,
        stmts: vec![syn::Stmt::Expr(syn::Expr::Verbatim(body), None)],
    };
    quote!(#item)
}

fn body(cb: &CircuitBreaker) -> TokenStream {
    let p = private();
    let fn_name = &cb.item.sig.ident;
    let at = fn_name.span();
    let mixed = Span::mixed_site();
    let [
        classify,
        shape,
        result,
        out,
        last,
        wait,
        rejected,
        timed_out,
    ] = [
        "classify",
        "shape",
        "result",
        "out",
        "last",
        "wait",
        "rejected",
        "timed_out",
    ]
    .map(|name| format_ident!("__breaker_{}", name, span = mixed));
    let output = &cb.output;
    let output_inferred = &infer_impl_trait(output);
    let ret = output.span();
    let err = error_type_span(output);
    // rustc shows an error on a generated token at the attribute, whatever the token's location;
    // the call's local is the argument of the `From<Rejected>` and `From<TimedOut>` checks, so it
    // carries the user's own span (of `E`), and a `__breaker_` name instead of hygiene.
    let call = syn::Ident::new("__breaker_call", err);

    let (breaker_items, breaker) = match &cb.breaker {
        BreakerSource::Own(own) => {
            let config = config(own, path_of(fn_name), at);
            // Registered through its call site alone: the registry gathers every call site's
            // breaker, so a second link-time entry per fn would only cost compile time.
            let items = quote! {
                static __BREAKER: #p::Breaker = #p::Breaker::__attribute(#config);
            };
            (items, quote!(&__BREAKER))
        }
        BreakerSource::Shared(path) => {
            // One typed place for the path, so a path to something else is reported once, on it.
            let reference = quote_spanned!(path.span()=> &#path);
            let items = quote! {
                static __SHARED: &#p::Breaker = #reference;
            };
            (items, quote!(__SHARED))
        }
    };
    let policy = policy(&cb.policy);
    let function = path_of(fn_name);
    let location = location(at);

    let classify_fn = match &cb.classify {
        Some(path) => {
            // The user's fn is called through two traits, each of which names the signature to
            // write when it does not fit, on the `classify` path.
            let at = path.span();
            let p_at = private_at(at);
            // The closure's parameter carries the path's own span: rustc reports a mismatch on the
            // argument expression, whose span is the path only if all its tokens share it.
            let error = syn::Ident::new("__breaker_error", at);
            quote_spanned! {at=>
                #p_at::classifier(&#shape, |#error| #p_at::IsVerdict::verdict(
                    #error,
                    #path(#p_at::ClassifyArg::arg(#error)),
                ))
            }
        }
        None => quote!(#p::transient),
    };
    let is_async = cb.item.sig.asyncness.is_some();
    let user_stmts = &cb.item.block.stmts;
    // One attempt needs no retry state: `#call` is then the permit itself, which lives in two
    // registers, where the retry loop keeps a `Call` on the stack.
    let single = cb.policy.attempts == 1;
    let span = if single {
        quote!(#p::attempt_span(#breaker))
    } else {
        quote!(#p::span(#call))
    };
    let attempt = if is_async {
        quote! {
            #p::attempt::<#output_inferred, _>(#span, async { #(#user_stmts)* })
        }
    } else {
        quote! {
            #p::attempt_blocking::<#output_inferred, _>(|| { #(#user_stmts)* }, &#span)
        }
    };
    // Without `classify`, the verdict fn is named where it is passed: no local to keep.
    let (classify_local, classify_arg) = match &cb.classify {
        Some(_) => (quote!(let #classify = #classify_fn;), quote!(#classify)),
        None => (TokenStream::new(), quote!(#p::transient)),
    };
    // Every value the fn returns comes out of a method of the `Shape`, called with method syntax:
    // when the return type is not a `Result`, the `Shape` has no type, and a method called on it
    // gives none either, so the `Shape` is the one error rustc reports.
    let settle = |out_expr: TokenStream| {
        if single {
            // The outcome is recorded through a reference and then returned from where it
            // already is: moving a freshly written `Result` through a call forces a copy.
            quote!({
                let #out = #shape.into_result(#out_expr);
                #p::settle(#call, &#out, #classify_arg);
                #out
            })
        } else {
            quote!(#shape.settle(#call, #out_expr, #classify_arg))
        }
    };
    let settled = match cb.policy.timeout {
        Some(ms) => {
            // Only a call that makes one attempt: one that retries is timed by its `Step`.
            let limit = millis(ms);
            let p_err = private_at(err);
            // The conversion is a call of its own, all of whose tokens carry the span of `E`:
            // rustc reports the missing impl on the whole call.
            let held = quote_spanned!(err=> #p_err::HoldsTimeout::held(#timed_out));
            let on_time = settle(quote!(#out));
            quote! {
                match #p::timeout(#limit, #attempt).await {
                    #p::Ok(#out) => #on_time,
                    #p::Err(_) => {
                        let #timed_out = #p::settle_timeout_single(#call, #limit);
                        #shape.err(#held)
                    }
                }
            }
        }
        None if is_async => settle(quote!(#attempt.await)),
        None => settle(attempt),
    };
    let p_err = private_at(err);
    let rejection = quote_spanned!(err=> #p_err::HoldsRejection::held(#rejected));
    let rejection = quote!(#shape.err(#rejection));
    let p_ret = private_at(ret);
    let shape_of = quote_spanned!(ret=> <#output_inferred as #p_ret::IsResult>::SHAPE);

    let run = if single {
        quote! {
            match #p::admit(#breaker) {
                #p::Err(#rejected) => #rejection,
                #p::Ok(#call) => #settled,
            }
        }
    } else {
        // With arguments cloned for each attempt, admission also says whether this attempt is
        // the last, which gets the originals.
        let clones = cb
            .attempt_args
            .iter()
            .any(|arg| matches!(arg.handoff, Handoff::Clone { .. }));
        if is_async {
            // The attempt takes its arguments as it starts, told by its `Step` through `Last`
            // whether it is the last; all else of the attempt (admission, scope, timeout,
            // settling, backoff) is the `Step`'s, so the fn awaits once per attempt. Nothing that
            // holds the error lives across that `.await`: a non-`Send` error keeps it `Send`.
            let (slots, takes) = attempt_args(&cb.attempt_args, &quote!(#p::Last::get(&#last)));
            let (last_local, last_arg) = if clones {
                (
                    quote!(let #last = #p::Last::new();),
                    quote!(#p::Some(&#last)),
                )
            } else {
                (TokenStream::new(), quote!(#p::None))
            };
            let p_err = private_at(err);
            // Named as fn pointers, with the span of `E`: a missing impl is reported there.
            let held_rejection = quote_spanned!(err=> #p_err::HoldsRejection::held);
            let held_timeout = match cb.policy.timeout {
                Some(_) => {
                    let held = quote_spanned!(err=> #p_err::HoldsTimeout::held);
                    quote!(#p::Some(#held))
                }
                None => quote!(#p::None),
            };
            // The attempt is built in the step's argument, whose bound gives its `async` block
            // its output type. No pinning and no method through `Pin` here: every token of the
            // expansion is checked again for each annotated fn. Both calls are methods of the
            // `Shape`, so a fn that returns no `Result` gets the one error on its return type.
            quote! {{
                #slots
                #last_local
                let mut #call = #shape.retrying(
                    #p::call_at!(__CALL_SITE),
                    #last_arg,
                    #classify_arg,
                    #held_rejection,
                    #held_timeout,
                );
                loop {
                    if let #p::Some(#result) =
                        #shape.step(&mut #call, async { #takes #(#user_stmts)* }).await
                    {
                        break #result;
                    }
                }
            }}
        } else {
            let (slots, takes) = attempt_args(&cb.attempt_args, &quote!(#last));
            let admit = if clones {
                quote! {
                    let #last = match #p::admit_next(#call) {
                        #p::Ok(#last) => #last,
                        #p::Err(#rejected) => break #rejection,
                    };
                }
            } else {
                quote! {
                    if let #p::Err(#rejected) = #p::admit_attempt(#call) {
                        break #rejection;
                    }
                }
            };
            quote! {{
                let #call = &mut #p::call_at!(__CALL_SITE);
                #slots
                loop {
                    #admit
                    #takes
                    let #wait = match #settled {
                        #p::Next::Return(#result) => break #result,
                        #p::Next::Retry(#wait) => #wait,
                    };
                    #p::sleep_blocking(#wait);
                }
            }}
        }
    };

    let import = facade_import(&cb.krate);
    quote! {
        #import
        #breaker_items
        #p::register!(
            CALL_SITES,
            __CALL_SITE: #p::CallSite = #p::CallSite::__attribute(#function, #location, #policy #breaker)
        );
        let #shape = #shape_of;
        #classify_local
        #run
    }
}

/// For each argument an attempt gets its own of: the slot declared before the loop, and the
/// rebinding at the top of each attempt.
fn attempt_args(args: &[AttemptArg], last: &TokenStream) -> (TokenStream, TokenStream) {
    let p = private();
    let mut slots = TokenStream::new();
    let mut takes = TokenStream::new();
    for AttemptArg {
        cfgs,
        ident,
        mutability,
        handoff,
    } in args
    {
        // A parameter that `#[cfg]` removes is removed after this expansion: its statements go
        // with it.
        let cfgs = quote!(#(#cfgs)*);
        match handoff {
            Handoff::Clone { ty } => {
                // The `Clone` check names the argument's type, so rustc reports it there; an
                // `impl Trait` type cannot be named, and is inferred.
                let at = ty.span();
                let slot =
                    format_ident!("__breaker_arg_{}", ident.unraw(), span = Span::mixed_site());
                let named = infer_impl_trait(ty);
                if mutability.is_some() {
                    // The attempts mutate their own rebinding, never the parameter: borrow it
                    // mutably once, so its `mut` does not read as unused.
                    slots.extend(quote!(#cfgs let _ = &mut #ident;));
                }
                slots.extend(quote! {
                    #cfgs let mut #slot = #p::Some(#ident);
                });
                let p_at = private_at(at);
                let take =
                    quote_spanned!(at=> <#named as #p_at::RetryArg>::next(&mut #slot, #last));
                takes.extend(quote!(#cfgs let #mutability #ident = #take;));
            }
            Handoff::Reborrow => {
                takes.extend(quote!(#cfgs let #mutability #ident = &mut *#ident;));
            }
            Handoff::Copy => {
                // As for a clone: the parameter itself is never changed.
                slots.extend(quote!(#cfgs let _ = &mut #ident;));
                takes.extend(quote!(#cfgs let #mutability #ident = #ident;));
            }
        }
    }
    (slots, takes)
}

/// Where rustc's errors about the error type `E` should land: on `E` in a `Result<T, E>` written
/// out, else on the return type.
fn error_type_span(output: &syn::Type) -> Span {
    if let syn::Type::Path(path) = output
        && let Some(last) = path.path.segments.last()
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && args.args.len() == 2
        && let Some(syn::GenericArgument::Type(error)) = args.args.last()
    {
        return error.span();
    }
    output.span()
}

/// The static with its breaker, and its registration.
pub(crate) fn shared_breaker(shared: SharedBreaker) -> TokenStream {
    let p = private();
    let item = &shared.item;
    let (attrs, vis, static_token, ident, ty) = (
        &item.attrs,
        &item.vis,
        &item.static_token,
        &item.ident,
        &item.ty,
    );
    let config = config(&shared.config, path_of(ident), ident.span());
    let import = facade_import(&shared.krate);
    quote! {
        #(#attrs)*
        #vis #static_token #ident: #ty = {
            #import
            #p::Breaker::__attribute(#config)
        };
        const _: () = {
            #import
            #p::register!(BREAKERS, __BREAKER_ENTRY: &#p::Breaker = &#ident);
        };
    }
}

/// What stands beside the errors of an invalid attribute: the item, as usable as it can be made
/// without raising errors of its own.
pub(crate) fn invalid(invalid: Invalid) -> TokenStream {
    let mut tokens = match invalid.fallback {
        Fallback::AsWritten(tokens) => tokens,
        Fallback::Fn(item) => item.into_token_stream(),
        Fallback::Unconfigured { item, krate } => unconfigured(&item, &krate),
        Fallback::Nothing => TokenStream::new(),
    };
    tokens.extend(invalid.errors.into_compile_error());
    tokens
}

/// The static with a default-configured breaker.
fn unconfigured(item: &SharedStatic, krate: &syn::Path) -> TokenStream {
    let SharedStatic {
        attrs,
        vis,
        static_token,
        ident,
        ty,
        ..
    } = item;
    let name = format!("::{ident}");
    let import = facade_import(krate);
    quote! {
        #(#attrs)*
        #vis #static_token #ident: #ty = {
            #import
            __breaker_private::Breaker::new(__breaker_private::Config::new(
                __breaker_private::concat!(__breaker_private::module_path!(), #name),
            ))
        };
    }
}

/// `ty` with each `impl Trait` replaced by `_`: the body can name the return type, and rustc
/// infers the hidden type as it does for the fn.
fn infer_impl_trait(ty: &syn::Type) -> syn::Type {
    struct InferImplTrait;

    impl VisitMut for InferImplTrait {
        fn visit_type_mut(&mut self, ty: &mut syn::Type) {
            if let syn::Type::ImplTrait(imp) = ty {
                let span = imp.impl_token.span;
                *ty = syn::Type::Infer(syn::TypeInfer {
                    underscore_token: syn::Token![_](span),
                });
                return;
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }

    let mut inferred = ty.clone();
    InferImplTrait.visit_type_mut(&mut inferred);
    inferred
}
