#!/usr/bin/env bash
# The compile-time cost of the attribute: one generated crate with 200 `#[circuit_breaker]` async
# fns against the same crate with 200 plain async fns. Dependencies are built first; then each
# variant of the crate itself is built from clean three times and the best time is kept.
#
# Usage: bash benches/compile_time.sh [N]   (N fns, default 200)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-200}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for variant in plain annotated; do
  mkdir -p "$work/$variant/src"
  cat > "$work/$variant/Cargo.toml" <<TOML
[package]
name = "gen_$variant"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
breakerbox = { path = "$root" }

[workspace]
TOML
  {
    echo '#![allow(dead_code)]'
    echo 'use breakerbox::Rejected;'
    echo '#[derive(Debug)] pub struct Error;'
    echo 'impl From<Rejected> for Error { fn from(_: Rejected) -> Self { Error } }'
    for i in $(seq 1 "$n"); do
      if [ "$variant" = annotated ]; then
        echo "#[breakerbox::circuit_breaker(threshold = 5, attempts = 3, retry = \"per_call\", backoff = \"100ms..2s\")]"
      fi
      echo "pub async fn call_$i(id: u64) -> Result<u64, Error> { if id == $i { Err(Error) } else { Ok(id + $i) } }"
    done
  } > "$work/$variant/src/lib.rs"
done

best() { # best wall time in milliseconds of 3 clean builds of the generated crate
  local dir="$1" best=""
  for _ in 1 2 3; do
    cargo clean -q --manifest-path "$dir/Cargo.toml" -p "gen_$(basename "$dir")" --target-dir "$work/target"
    local start end t
    start=$(date +%s%N)
    cargo build -q --manifest-path "$dir/Cargo.toml" --target-dir "$work/target"
    end=$(date +%s%N)
    t=$(( (end - start) / 1000000 ))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}

# Build the dependencies once, shared by both variants.
cargo build -q --manifest-path "$work/plain/Cargo.toml" --target-dir "$work/target"
plain=$(best "$work/plain")
annotated=$(best "$work/annotated")
awk -v n="$n" -v p="$plain" -v a="$annotated" 'BEGIN {
  printf "crate with %d plain async fns:      %7.2f s\n", n, p / 1000
  printf "crate with %d annotated async fns:  %7.2f s\n", n, a / 1000
  printf "ratio annotated/plain:               %7.2fx\n", a / p
}'
