#!/usr/bin/env bash
# Runs every benchmark in BENCHMARKS.md end to end and prints the figures as Markdown:
#   1. `paperboy import` of the 74,728 arXiv records under /usr/bin/time -v, then `paperboy reindex`,
#      then the import's phases timed apart (paperboy-bench phases) and the cost of text analysis
#      (paperboy-bench analysis);
#   2. keyword search: paperboy vs SQLite FTS5 in process (paperboy-bench search), then the same
#      queries over HTTP against `paperboy serve` (paperboy-bench http);
#   3. the HF daily-papers archive imported on top, and wrk against the listing pages and search.
#
# Usage: crates/bench/run.sh [WORK_DIR]     (WORK_DIR must not exist; default: a new /tmp dir)
# Knobs (environment): DATA (default ../shared/data from the project root), PORT (0: any free one),
#   QUERIES (300), SEED (42), ROUNDS (5), HTTP_ROUNDS (3), WRK_ARGS ("-t2 -c16 -d15s"), SKIP_BUILD=1,
#   COMMIT (the label for a tree that is not a git checkout), TITLE_BOOST (1.2: paperboy's title
#   boost, mirrored as FTS5's bm25() title weight; keep it equal to TITLE_BOOST in crates/search).
# Only 127.0.0.1 is ever contacted. One heavy thing runs at a time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
ARXIV=$DATA/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz
HF=$DATA/hf-daily-papers/raw_daily_papers_api_json.tar.gz
PORT=${PORT:-0}
QUERIES=${QUERIES:-300}
SEED=${SEED:-42}
ROUNDS=${ROUNDS:-5}
HTTP_ROUNDS=${HTTP_ROUNDS:-3}
WRK_ARGS=${WRK_ARGS:--t2 -c16 -d15s}
TITLE_BOOST=${TITLE_BOOST:-1.2}
BASE=

for f in "$ARXIV" "$HF"; do
    [ -f "$f" ] || { echo "missing data file $f (set DATA=)" >&2; exit 2; }
done
for tool in /usr/bin/time wrk curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y time wrk curl)" >&2; exit 2; }
done

. "$ROOT/crates/bench/lib.sh"
new_work_dir "${1:-}" paperboy-bench
trap kill_server EXIT

# `/usr/bin/time -v` output -> "SECONDS MAX_RSS_KB"
time_of() {
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
                /Maximum resident set size/ { rss = $2 }
                END { printf "%.2f %d\n", s, rss }' "$1"
}
{
echo "# paperboy benchmark run"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
echo "- build: $(rustc -V), release profile; commit ${COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)} (+ working tree)"
echo "- work dir: $WORK"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
} | tee "$WORK/report.md"

if [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -p paperboy-bench -p paperboy-cli) >&2
fi

# 1. Import -----------------------------------------------------------------------------------
/usr/bin/time -v -o "$WORK/import.time" "$PB" import --data-dir "$DIR" "$ARXIV" >"$WORK/import.out" 2>"$WORK/import.err"
read -r IMPORT_S IMPORT_RSS < <(time_of "$WORK/import.time")
DB_BYTES=$(bytes_of "$DIR"/paperboy.sqlite3*)
INDEX_BYTES=$(bytes_of "$DIR/index")
RECORDS=$(grep -o 'read [0-9]*' "$WORK/import.out" | head -1 | cut -d' ' -f2)
/usr/bin/time -v -o "$WORK/reindex.time" "$PB" reindex --data-dir "$DIR" >"$WORK/reindex.out" 2>"$WORK/reindex.err"
read -r REINDEX_S REINDEX_RSS < <(time_of "$WORK/reindex.time")
INDEX_BYTES_REBUILT=$(bytes_of "$DIR/index")
{
echo
echo "## 1. Import of $(basename "$ARXIV")"
echo
echo "| command | wall s | records/s | max RSS |"
echo "|---|---:|---:|---:|"
echo "| \`paperboy import\` (parse + SQLite + index) | $IMPORT_S | $(awk -v n="$RECORDS" -v s="$IMPORT_S" 'BEGIN { printf "%.0f", n / s }') | $(mib $((IMPORT_RSS * 1024))) |"
echo "| \`paperboy reindex\` (index only, from SQLite) | $REINDEX_S | $(awk -v n="$RECORDS" -v s="$REINDEX_S" 'BEGIN { printf "%.0f", n / s }') | $(mib $((REINDEX_RSS * 1024))) |"
echo
echo "- $(cat "$WORK/import.out" | tr '\n' ' ')"
echo "- on disk after import: database $(mib "$DB_BYTES"), search index $(mib "$INDEX_BYTES") ($(mib "$INDEX_BYTES_REBUILT") after reindex)"
echo
} | tee -a "$WORK/report.md"
"$BENCH" phases --work-dir "$WORK/phases" "$ARXIV" | tee -a "$WORK/report.md"
rm -rf "$WORK/phases"
echo | tee -a "$WORK/report.md"
"$BENCH" analysis --records "$ARXIV" | tee -a "$WORK/report.md"

# 2. Keyword search ---------------------------------------------------------------------------
echo | tee -a "$WORK/report.md"
"$BENCH" search --data-dir "$DIR" --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --rounds "$ROUNDS" \
    --title-boost "$TITLE_BOOST" \
    | tee -a "$WORK/report.md"
start_server
{
echo
echo "### The same queries over HTTP (\`paperboy serve\`, $RECORDS papers)"
echo
"$BENCH" http --header --url "$BASE" --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --rounds "$HTTP_ROUNDS" \
    --path /api/papers/search --params limit=10
"$BENCH" http --url "$BASE" --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --rounds "$HTTP_ROUNDS" \
    --path /api/papers/search
"$BENCH" http --url "$BASE" --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --rounds "$HTTP_ROUNDS" \
    --path /search
} | tee -a "$WORK/report.md"
stop_server

# 3. Listing pages under load -----------------------------------------------------------------
/usr/bin/time -v -o "$WORK/import-hf.time" "$PB" import --data-dir "$DIR" "$HF" >"$WORK/import-hf.out" 2>"$WORK/import-hf.err" || true
read -r HF_S HF_RSS < <(time_of "$WORK/import-hf.time")
start_server
LATEST=$(curl -fsS "$BASE/api/status" | grep -o '"lastDay":"[0-9-]*"' | cut -d'"' -f4)
WEEK=$(curl -sS -o /dev/null -w '%{redirect_url}' "$BASE/papers/week" | sed "s|^$BASE||")
MONTH=$(curl -sS -o /dev/null -w '%{redirect_url}' "$BASE/papers/month" | sed "s|^$BASE||")
"$BENCH" queries --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --lua "$WORK/search.lua" --path /search 2>/dev/null
"$BENCH" queries --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --lua "$WORK/api-search.lua" --path /api/papers/search --params limit=10 2>/dev/null
{
echo
echo "## 3. Pages under load: wrk $WRK_ARGS --latency"
echo
echo "- then \`paperboy import $(basename "$HF")\`: $(tr '\n' ' ' <"$WORK/import-hf.out")in ${HF_S} s; latest day $LATEST"
echo "- $(curl -fsS "$BASE/api/status")"
echo
echo "| URL | requests/s | p50 | p99 | body bytes | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|"
} | tee -a "$WORK/report.md"
run_wrk() { # LABEL URL SAMPLE_URL [wrk args...]   (SAMPLE_URL: one request whose body size is shown)
    local label=$1 url=$2 sample=$3; shift 3
    local out; out=$(wrk $WRK_ARGS --latency "$@" "$url")
    echo "$out" >>"$WORK/wrk.log"
    local rps p50 p99 bad size
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    p50=$(echo "$out" | awk '/^ +50%/ { print $2 }')
    p99=$(echo "$out" | awk '/^ +99%/ { print $2 }')
    bad=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
    size=$(curl -s -o /dev/null -w '%{size_download}' "$sample")
    echo "| $label | $rps | $p50 | $p99 | $size | ${bad:-0} |" | tee -a "$WORK/report.md"
}
FIRST_Q=$(grep -m1 -o '?q=[^"]*' "$WORK/search.lua")
run_wrk "/healthz (baseline)" "$BASE/healthz" "$BASE/healthz"
run_wrk "/papers (latest day, $LATEST)" "$BASE/papers" "$BASE/papers"
run_wrk "$WEEK" "$BASE$WEEK" "$BASE$WEEK"
run_wrk "$MONTH" "$BASE$MONTH" "$BASE$MONTH"
run_wrk "/api/daily_papers?date=$LATEST" "$BASE/api/daily_papers?date=$LATEST" "$BASE/api/daily_papers?date=$LATEST"
run_wrk "/search?q=… ($QUERIES queries in turn)" "$BASE/search" "$BASE/search$FIRST_Q" -s "$WORK/search.lua"
run_wrk "/api/papers/search?q=…&limit=10 ($QUERIES queries in turn)" "$BASE/api/papers/search" \
    "$BASE/api/papers/search$FIRST_Q&limit=10" -s "$WORK/api-search.lua"
{
echo
echo "- server max RSS after the load: $(awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$SERVER_PID/status")"
echo "- body bytes: one uncompressed response (wrk sends no Accept-Encoding); for the searches, the first query's"
echo "- wrk runs on the same $(nproc) CPUs as the server: requests/s is a floor, not the server's ceiling"
} | tee -a "$WORK/report.md"
stop_server
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$WORK/report.md"
echo
echo "report: $WORK/report.md" >&2
