#!/usr/bin/env bash
# Time to embed a whole import end to end through `paperboy serve`: the records are imported
# (keyword index included), then `paperboy serve` starts with a model and its background worker
# embeds the backlog; the embeddings table is counted every few seconds until it holds a vector
# for every paper. Prints the papers, the seconds from start-up to the last vector, and the rate.
#
# usage (from the repository root):
#   crates/bench/embed_through_serve.sh MODEL_DIR [RECORDS]
# MODEL_DIR: what `paperboy model install --dir MODEL_DIR` writes.
# RECORDS: default ../shared/data/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz
# PAPERBOY_EMBED_KERNEL (environment) chooses the kernel as in `paperboy serve`.
set -euo pipefail

MODEL_DIR=$(cd "${1:?usage: $0 MODEL_DIR [RECORDS]}" && pwd)
RECORDS=${2:-../shared/data/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz}
cargo build -q --release -p paperboy-cli
work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
target/release/paperboy import --data-dir "$work" "$RECORDS" >/dev/null
db="$work/paperboy.sqlite3"
papers=$(sqlite3 "file:$db?mode=ro" 'SELECT count(*) FROM papers')
start=$(date +%s.%N)
PAPERBOY_MODEL_DIR="$MODEL_DIR" target/release/paperboy serve --data-dir "$work" --no-demo \
    --bind 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
while :; do
    n=$(sqlite3 "file:$db?mode=ro" 'SELECT count(*) FROM embeddings' 2>/dev/null || echo 0)
    now=$(date +%s.%N)
    printf '%7.0f s  %d / %d embedded\n' "$(echo "$now - $start" | bc)" "$n" "$papers" >&2
    [ "$n" -ge "$papers" ] && break
    kill -0 "$server" 2>/dev/null || { echo "paperboy serve exited" >&2; cat "$work/serve.log" >&2; exit 1; }
    sleep 5
done
secs=$(echo "$now - $start" | bc)
grep -m1 -o 'kernel="[a-z0-9]*"' "$work/serve.log" || true
printf '%d papers embedded through paperboy serve in %.0f s (%.1f min, %.1f papers/s)\n' \
    "$papers" "$secs" "$(echo "$secs / 60" | bc -l)" "$(echo "$papers / $secs" | bc -l)"
