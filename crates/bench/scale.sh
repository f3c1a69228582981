#!/usr/bin/env bash
# The scale benchmarks of BENCHMARKS.md ("Scale"), for one size N: generate N Kaggle-format records
# from the real arXiv listings, `paperboy import` them (wall time, records/s, peak RSS and peak
# anonymous memory sampled from /proc, database and index size), keyword search over 200 queries
# against SQLite FTS5 on the same papers (paperboy-bench search), and the server's memory at rest
# (`paperboy serve` on that data, after one round of the queries over HTTP).
#
# Usage: crates/bench/scale.sh N [WORK_DIR]     (WORK_DIR must not exist; default: a new /tmp dir)
# Knobs (environment): DATA (../shared/data), QUERIES (200), ROUNDS (5), SKIP_BUILD=1, KEEP=1 (keep
#   the generated file and data), NO_FTS=1 (skip the FTS5 comparison).
# Only 127.0.0.1 is ever contacted. One heavy thing runs at a time.
set -euo pipefail

N=${1:?usage: scale.sh N [WORK_DIR]}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
ARXIV=$DATA/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz
QUERIES=${QUERIES:-200}
ROUNDS=${ROUNDS:-5}
. "$ROOT/crates/bench/lib.sh"
new_work_dir "${2:-}" paperboy-scale
cleanup() {
    kill_server
    [ -n "${KEEP:-}" ] || rm -rf "$WORK/records.jsonl" "$DIR"
}
trap cleanup EXIT
if [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -p paperboy-bench -p paperboy-cli) >&2
fi
kb_of() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# Runs "$@" with its output to $OUT and $ERR, sampling its resident and anonymous memory every
# 0.2 s; prints "SECONDS RSS_KB ANON_KB".
measure() {
    local start end pid rss anon peak_rss=0 peak_anon=0
    start=$(date +%s.%N)
    "$@" >"$OUT" 2>"$ERR" & pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        rss=$(kb_of "$pid" VmHWM); anon=$(kb_of "$pid" RssAnon)
        [ "${rss:-0}" -gt "$peak_rss" ] && peak_rss=$rss
        [ "${anon:-0}" -gt "$peak_anon" ] && peak_anon=$anon
        sleep 0.2
    done
    wait "$pid"
    end=$(date +%s.%N)
    echo "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') $peak_rss $peak_anon"
}

{
echo "## Scale: $N records"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
echo "- commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$WORK/report.md"

OUT=/dev/null ERR=$WORK/generate.err
read -r GEN_S _ _ < <(measure "$BENCH" generate --records "$ARXIV" --count "$N" --out "$WORK/records.jsonl")
OUT=$WORK/import.out ERR=$WORK/import.err
read -r IMP_S IMP_RSS IMP_ANON < <(measure "$PB" import --data-dir "$DIR" "$WORK/records.jsonl")
DB_BYTES=$(bytes_of "$DIR"/paperboy.sqlite3*)
INDEX_BYTES=$(bytes_of "$DIR/index")
{
echo
echo "| step | figure |"
echo "|---|---|"
echo "| generate ($(mib "$(bytes_of "$WORK/records.jsonl")")) | ${GEN_S} s |"
echo "| \`paperboy import\` incl. keyword index | **${IMP_S} s**, $(awk -v n="$N" -v s="$IMP_S" 'BEGIN { printf "%.0f", n / s }') records/s |"
echo "| import peak RSS / peak anonymous memory | $(mib $((IMP_RSS * 1024))) / $(mib $((IMP_ANON * 1024))) |"
echo "| database, index | $(mib "$DB_BYTES"), $(mib "$INDEX_BYTES") |"
echo "| import said | $(tr '\n' ' ' < "$WORK/import.out") |"
} | tee -a "$WORK/report.md"

if [ -z "${NO_FTS:-}" ]; then
    echo | tee -a "$WORK/report.md"
    "$BENCH" search --data-dir "$DIR" --records "$ARXIV" --queries "$QUERIES" --rounds "$ROUNDS" --fts-dir "$WORK/fts" \
        | tee -a "$WORK/report.md"
    rm -rf "$WORK/fts"
fi

start_server 1200
{
echo
"$BENCH" http --header --url "$BASE" --records "$ARXIV" --queries "$QUERIES" --rounds 1 --path /api/papers/search --params limit=10
echo
echo "- server at rest after that round: RSS $(mib $(( $(kb_of "$SERVER_PID" VmRSS) * 1024 ))), anonymous $(mib $(( $(kb_of "$SERVER_PID" RssAnon) * 1024 )))"
} | tee -a "$WORK/report.md"
