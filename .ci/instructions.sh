#!/usr/bin/env bash
# The deterministic performance check: instructions per call of each hot path, counted by
# callgrind, against the counts committed in benches/instructions.txt. Wall-clock benchmarks cannot
# gate CI on a shared machine; instruction counts can.
#
# Usage: bash .ci/instructions.sh            check (fails on a path more than 5% above its count)
#        bash .ci/instructions.sh --update   rewrite benches/instructions.txt from this run
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }

bin=$(cargo bench --bench instructions --no-run --locked --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "instructions":
        print(m["executable"])')

count() { # instructions of one run: path, calls
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

n=20000
paths=$("$bin" 2>&1 | sed -n 's/.*paths: //p' || true)
table=benches/instructions.txt
status=0
out=""
for path in $paths; do
  one=$(count "$path" "$n")
  two=$(count "$path" $((2 * n)))
  per_call=$(( (two - one) / n ))
  out+="$path $per_call"$'\n'
  committed=$(awk -v p="$path" '$1 == p { print $2 }' "$table" 2>/dev/null || true)
  if [ -z "$committed" ]; then
    printf '%-30s %5d instructions per call (no committed count)\n' "$path" "$per_call"
    status=1
  elif [ "$per_call" -gt $(( committed * 105 / 100 )) ]; then
    printf '%-30s %5d instructions per call, committed %d: REGRESSION\n' "$path" "$per_call" "$committed"
    status=1
  else
    printf '%-30s %5d instructions per call, committed %d\n' "$path" "$per_call" "$committed"
  fi
done

if [ "${1:-}" = "--update" ]; then
  { echo "# Instructions per call of each hot path (.ci/instructions.sh --update; x86_64, Rust 1.95.0)."
    printf '%s' "$out"; } > "$table"
  echo "wrote $table"
  exit 0
fi
exit "$status"
