#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md "Several nodes on PostgreSQL (issue 7)", end to end, as Markdown:
#   1. the 74,728 arXiv records and the HF daily-papers archive imported with `paperboy import`
#      into a SQLite file and into a fresh PostgreSQL database (wall time, records/s, peak RSS);
#   2. `paperboy serve` nodes: one on the SQLite file (the baseline), three on the PostgreSQL
#      database (the first on the import's index, two starting empty), each with its own data
#      directory, timed until /readyz answers 200 and the index has every change;
#   3. wrk against /papers and /search?q=... (the query set of run.sh section 3) with a constant
#      total of CONNECTIONS connections split across the nodes of a configuration (SQLite, 1, 2 and
#      3 PostgreSQL nodes): one wrk per node at the same time; ROUNDS rounds, configurations
#      interleaved; sum of requests/s, worst and median node's p99, CPU per request by process,
#      what the PostgreSQL backends were doing (pg_stat_activity sampled), and PostgreSQL
#      transactions per request (pg_stat_database, sequential requests to one node);
#   4. votes per second through the store (paperboy-bench votes) on SQLite and PostgreSQL, at
#      concurrency 1 and 16, each run ending with an exact check of every paper's count.
#
# Usage: crates/bench/cluster.sh [WORK_DIR]     (WORK_DIR must not exist; default: a new /tmp dir)
# Knobs (environment): POSTGRES_BENCH_URL (a server URL whose role may create databases; default
#   postgres://paperboy:paperboy@127.0.0.1:5432/postgres; the run makes databases of its own there
#   and drops them at the end), DATA (../shared/data), CONNECTIONS (16), DURATION (15s), ROUNDS (3),
#   NODES (3), QUERIES (300), SEED (42), VOTE_SECONDS (10), SKIP_BUILD=1, KEEP=1 (keep WORK_DIR/data,
#   the data directories and vote files; the databases are dropped all the same).
# Only 127.0.0.1 is ever contacted. The machine's cores are shared by nodes, PostgreSQL and wrk.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
ARXIV=$DATA/arxiv-listings/arxiv_listings_2025-03_2026-07.jsonl.gz
HF=$DATA/hf-daily-papers/raw_daily_papers_api_json.tar.gz
PG_SERVER=${POSTGRES_BENCH_URL:-postgres://paperboy:paperboy@127.0.0.1:5432/postgres}
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-15s}
ROUNDS=${ROUNDS:-3}
NODES=${NODES:-3}
QUERIES=${QUERIES:-300}
SEED=${SEED:-42}
VOTE_SECONDS=${VOTE_SECONDS:-10}

for f in "$ARXIV" "$HF"; do
    [ -f "$f" ] || { echo "missing data file $f (set DATA=)" >&2; exit 2; }
done
for tool in /usr/bin/time wrk curl psql; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y time wrk curl postgresql-client)" >&2; exit 2; }
done
psql "$PG_SERVER" -qAtc 'SELECT 1' >/dev/null || { echo "cannot reach PostgreSQL (set POSTGRES_BENCH_URL)" >&2; exit 2; }

. "$ROOT/crates/bench/lib.sh"
new_work_dir "${1:-}" paperboy-cluster
# Database names: lower case, unique per run.
DB=paperboy_bench_$(date +%s)_$$
DATABASES=()
declare -A NODE_PID NODE_URL NODE_READY_S
NODE_NAMES=()
SAMPLER= # the pg_stat_activity sampler (psql) while a load run goes on

# The server URL with its database name replaced (a query string is kept).
db_url() { echo "$PG_SERVER" | sed -E "s|^(postgres(ql)?://[^/?]*)(/[^?]*)?|\1/$1|"; }
sql() { psql "$PG_SERVER" -v ON_ERROR_STOP=1 -qAtc "$1"; }
sql_in() { psql "$(db_url "$1")" -v ON_ERROR_STOP=1 -qAtc "$2"; }
create_db() { sql "CREATE DATABASE $1"; DATABASES+=("$1"); }
cleanup() {
    local name
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    for name in "${NODE_NAMES[@]}"; do
        kill "${NODE_PID[$name]}" 2>/dev/null || true; wait "${NODE_PID[$name]}" 2>/dev/null || true
    done
    for name in "${DATABASES[@]}"; do sql "DROP DATABASE IF EXISTS $name WITH (FORCE)" || echo "could not drop database $name" >&2; done
    [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT

time_of() { # `/usr/bin/time -v` output -> "SECONDS MAX_RSS_KB"
    awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
                /Maximum resident set size/ { rss = $2 }
                END { printf "%.2f %d\n", s, rss }' "$1"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

{
echo "## Several nodes on PostgreSQL: benchmark run"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
echo "- build: $(rustc -V), release profile; commit ${COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)} (+ working tree)"
echo "- PostgreSQL: $(sql 'SHOW server_version') on the same machine; shared_buffers $(sql 'SHOW shared_buffers'), synchronous_commit $(sql 'SHOW synchronous_commit'), fsync $(sql 'SHOW fsync'), max_connections $(sql 'SHOW max_connections'); database $DB"
echo "- work dir: $WORK"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine shows here)"
} | tee "$WORK/report.md"

if [ -z "${SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -p paperboy-bench -p paperboy-cli) >&2
fi
create_db "$DB"
PG_URL=$(db_url "$DB")

# 1. Import -----------------------------------------------------------------------------------
# import_into LABEL DATA_DIR DATABASE_URL(empty: SQLite in DATA_DIR): both files, one command each.
import_into() {
    local label=$1 dir=$2 url=$3 file tag rc s rss
    for file in "$ARXIV" "$HF"; do
        tag=$label-$(basename "$file" | cut -d_ -f1-2)
        rc=0
        PAPERBOY_DATABASE_URL=$url /usr/bin/time -v -o "$WORK/$tag.time" "$PB" import --data-dir "$dir" "$file" \
            >"$WORK/$tag.out" 2>"$WORK/$tag.err" || rc=$?
        # 3: finished, some records rejected (reported in the output); anything else is a failure.
        [ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat "$WORK/$tag.err" >&2; exit 1; }
        read -r s rss < <(time_of "$WORK/$tag.time")
        local n; n=$(grep -o 'read [0-9]*' "$WORK/$tag.out" | head -1 | cut -d' ' -f2)
        echo "| $label | $(basename "$file") | $s | $(awk -v n="$n" -v s="$s" 'BEGIN { printf "%.0f", n / s }') | $(mib $((rss * 1024))) | $(tr '\n' ' ' <"$WORK/$tag.out" | sed "s|$(dirname "$file")/||; s/ *\$//") |"
    done
}
{
echo
echo "### 1. Import"
echo
echo "\`paperboy import --data-dir DIR FILE\` under \`/usr/bin/time -v\`, one file after the other (arXiv, then HF);"
echo "PostgreSQL with \`PAPERBOY_DATABASE_URL=postgres://.../$DB\`. Each includes building DIR's search index."
echo
echo "| store | file | wall s | records/s | max RSS | import said |"
echo "|---|---|---:|---:|---:|---|"
import_into SQLite "$DIR/sqlite" ""
import_into PostgreSQL "$DIR/pg-1" "$PG_URL"
echo
echo "- on disk: SQLite file $(mib "$(bytes_of "$DIR"/sqlite/paperboy.sqlite3*)"), PostgreSQL database $(mib "$(sql "SELECT pg_database_size('$DB')")") (pg_database_size), search index $(mib "$(bytes_of "$DIR/sqlite/index")") (SQLite's) / $(mib "$(bytes_of "$DIR/pg-1/index")") (PostgreSQL's)"
echo "- PostgreSQL's papers.doc (TEXT, JSON): $(sql_in "$DB" "SELECT count(*) FILTER (WHERE pg_column_compression(doc) IS NOT NULL) || ' of ' || count(*) || ' rows compressed by TOAST, mean ' || round(avg(octet_length(doc))) || ' B of JSON stored in ' || round(avg(pg_column_size(doc))) || ' B' FROM papers")"
} | tee -a "$WORK/report.md"

# 2. Nodes ------------------------------------------------------------------------------------
# start_node NAME DATA_DIR DATABASE_URL(empty: SQLite in DATA_DIR)
start_node() {
    local name=$1
    mkdir -p "$2"
    NODE_READY_S[$name]=$(now_s)
    PAPERBOY_DATABASE_URL=$3 PAPERBOY_LOG_LEVEL=warn "$PB" serve --data-dir "$2" --bind 127.0.0.1:0 --no-demo \
        >"$WORK/$name.log" 2>&1 &
    NODE_PID[$name]=$!
    NODE_NAMES+=("$name")
}
# wait_ready NAME: until /readyz is 200 and /api/status has no pending change (20 minutes at most);
# NODE_READY_S becomes the seconds from start.
wait_ready() {
    local name=$1 url=
    for _ in $(seq 1 4800); do
        kill -0 "${NODE_PID[$name]}" 2>/dev/null || { echo "node $name died:" >&2; cat "$WORK/$name.log" >&2; exit 1; }
        [ -n "$url" ] || url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/$name.log" | head -1 || true)
        if [ -n "$url" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] &&
            curl -fsS "$url/api/status" 2>/dev/null | grep -q '"pendingChanges":0'; then
            NODE_URL[$name]=$url
            NODE_READY_S[$name]=$(since "${NODE_READY_S[$name]}")
            return 0
        fi
        sleep 0.25
    done
    echo "node $name did not become ready" >&2; exit 1
}
start_node sqlite "$DIR/sqlite" ""
wait_ready sqlite
PG_NODES=()
for i in $(seq 1 "$NODES"); do start_node "pg-$i" "$DIR/pg-$i" "$PG_URL"; PG_NODES+=("pg-$i"); done
for name in "${PG_NODES[@]}"; do wait_ready "$name"; done
{
echo
echo "### 2. Nodes"
echo
echo "\`PAPERBOY_DATABASE_URL=... paperboy serve --data-dir DIR_i --bind 127.0.0.1:0 --no-demo\`, each with a data directory of"
echo "its own; ready = \`/readyz\` 200 and \`/api/status\` \`pendingChanges\` 0 (polled every 0.25 s). The PostgreSQL nodes started together."
echo
echo "| node | store | index at start | seconds to ready |"
echo "|---|---|---|---:|"
echo "| sqlite | SQLite file | the import's | ${NODE_READY_S[sqlite]} |"
for name in "${PG_NODES[@]}"; do
    if [ "$name" = pg-1 ]; then idx="the import's"; else idx="none: built from PostgreSQL while serving"; fi
    echo "| $name | PostgreSQL | $idx | ${NODE_READY_S[$name]} |"
done
echo
echo "- $(curl -fsS "${NODE_URL[pg-1]}/api/status")"
} | tee -a "$WORK/report.md"

# 3. Pages under load -------------------------------------------------------------------------
"$BENCH" queries --records "$ARXIV" --queries "$QUERIES" --seed "$SEED" --lua "$WORK/search.lua" --path /search 2>/dev/null
mkdir -p "$WORK/wrk"

# CPU clock ticks (utime + stime) of the given processes, one "PID TICKS" line each.
ticks() { local p; for p in "$@"; do [ -r "/proc/$p/stat" ] && awk -v p="$p" '{ print p, $14 + $15 }' "/proc/$p/stat"; done; return 0; }
pg_backends() { sql "SELECT pid FROM pg_stat_activity WHERE datname = '$DB'"; }
busy_total() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
xacts() { sql "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'"; }
# What this database's backends are doing: a '#' per snapshot, then one line per backend, "active -"
# (running, on a CPU or waiting for one: PostgreSQL cannot tell), "active TYPE:EVENT" (waiting on
# that), or its state (idle: waiting for its node).
WAITS_SQL="SELECT '#' UNION ALL SELECT CASE WHEN state = 'active' THEN 'active ' || coalesce(wait_event_type || ':' || wait_event, '-') ELSE coalesce(state, '?') END FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'"
# CPU seconds between two "PID TICKS" files, over the processes of the second (new ones from 0).
tick_delta() { awk -v hz="$(getconf CLK_TCK)" 'NR == FNR { a[$1] = $2; next } { d += $2 - a[$1] } END { printf "%.2f", d / hz }' "$1" "$2"; }
to_ms() { awk '{ v = $1; if (v ~ /us$/) x = v / 1000; else if (v ~ /ms$/) x = v + 0; else if (v ~ /s$/) x = v * 1000; else x = v; printf "%.2f\n", x }'; }

LOAD=$WORK/load.tsv
: >"$LOAD"
# measure KIND CONFIG ROUND NODE...: one wrk per node, all at once, CONNECTIONS split among them;
# appends one line to $LOAD.
measure() {
    local kind=$1 config=$2 round=$3; shift 3
    local nodes=("$@") n=$# i c path script pids=() wpids=() tag
    if [ "$kind" = papers ]; then path=/papers; script=(); else path=/search; script=(-s "$WORK/search.lua"); fi
    for name in "${nodes[@]}"; do pids+=("${NODE_PID[$name]}"); done
    pg_backends >"$WORK/wrk/pg.pids"
    ticks "${pids[@]}" >"$WORK/wrk/nodes.before"; ticks $(cat "$WORK/wrk/pg.pids") >"$WORK/wrk/pg.before"
    if [ "$config" != sqlite ]; then
        printf '%s\n\\watch 0.25\n' "$WAITS_SQL" | psql "$PG_SERVER" -qAt >"$WORK/wrk/$kind-$config-r$round.waits" 2>&1 &
        SAMPLER=$!
    fi
    read -r b0 t0 < <(busy_total)
    for i in $(seq 0 $((n - 1))); do
        c=$(( CONNECTIONS / n + (i < CONNECTIONS % n ? 1 : 0) ))
        tag=$WORK/wrk/$kind-$config-r$round-$i
        echo "wrk -t1 -c$c -d$DURATION --latency ${script[*]} ${NODE_URL[${nodes[$i]}]}$path" >"$tag.cmd"
        /usr/bin/time -f '%U %S' -o "$tag.cpu" wrk -t1 -c"$c" -d"$DURATION" --latency "${script[@]}" \
            "${NODE_URL[${nodes[$i]}]}$path" >"$tag.out" 2>&1 &
        wpids+=($!)
    done
    for p in "${wpids[@]}"; do wait "$p"; done
    read -r b1 t1 < <(busy_total)
    ticks "${pids[@]}" >"$WORK/wrk/nodes.after"
    pg_backends >"$WORK/wrk/pg.pids"; ticks $(cat "$WORK/wrk/pg.pids") >"$WORK/wrk/pg.after"
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=; fi
    local rps=0 reqs=0 p99s=() p50s=() bad=0 errs=0 wrk_cpu=0 out
    for i in $(seq 0 $((n - 1))); do
        out=$WORK/wrk/$kind-$config-r$round-$i.out
        rps=$(awk -v a="$rps" '/Requests\/sec/ { printf "%.1f", a + $2 }' "$out")
        reqs=$(awk -v a="$reqs" '/requests in/ { print a + $1 }' "$out")
        p99s+=("$(awk '/^ +99%/ { print $2 }' "$out" | to_ms)")
        p50s+=("$(awk '/^ +50%/ { print $2 }' "$out" | to_ms)")
        bad=$((bad + $(awk '/Non-2xx/ { print $NF }' "$out" | grep . || echo 0)))
        errs=$((errs + $(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out" | grep . || echo 0)))
        wrk_cpu=$(awk -v a="$wrk_cpu" '{ printf "%.2f", a + $1 + $2 }' "$WORK/wrk/$kind-$config-r$round-$i.cpu")
    done
    local worst med p50
    worst=$(printf '%s\n' "${p99s[@]}" | sort -g | tail -1)
    med=$(printf '%s\n' "${p99s[@]}" | median)
    p50=$(printf '%s\n' "${p50s[@]}" | median)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$config" "$round" "$rps" "$worst" "$med" "$p50" \
        "$reqs" "$(tick_delta "$WORK/wrk/nodes.before" "$WORK/wrk/nodes.after")" \
        "$(tick_delta "$WORK/wrk/pg.before" "$WORK/wrk/pg.after")" "$wrk_cpu" \
        "$(awk -v a="$b0" -v b="$b1" -v c="$t0" -v d="$t1" 'BEGIN { printf "%.0f", 100 * (b - a) / (d - c) }')" \
        "$(awk -v a="$b0" -v b="$b1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz }')" "$bad" "$errs" >>"$LOAD"
    sleep 1
}
CONFIGS=(sqlite)
for i in $(seq 1 "$NODES"); do CONFIGS+=("pg$i"); done
config_nodes() { if [ "$1" = sqlite ]; then echo sqlite; else seq 1 "${1#pg}" | sed 's/^/pg-/'; fi; }
config_label() { if [ "$1" = sqlite ]; then echo "SQLite, 1 node"; elif [ "$1" = pg1 ]; then echo "PostgreSQL, 1 node"; else echo "PostgreSQL, ${1#pg} nodes"; fi; }

# Warm-up, not counted: every node answers both pages for a few seconds.
for name in sqlite "${PG_NODES[@]}"; do
    wrk -t1 -c4 -d3s "${NODE_URL[$name]}/papers" >/dev/null
    wrk -t1 -c4 -d3s -s "$WORK/search.lua" "${NODE_URL[$name]}/search" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
    for kind in papers search; do
        for config in "${CONFIGS[@]}"; do
            # shellcheck disable=SC2046
            measure "$kind" "$config" "$round" $(config_nodes "$config")
        done
    done
done

FIRST_Q=$(grep -m1 -o '?q=[^"]*' "$WORK/search.lua")
{
echo
echo "### 3. Pages under load: $CONNECTIONS connections in all, split across the nodes"
echo
echo "Per configuration, one \`wrk -t1 -cC -d$DURATION --latency URL\` per node at the same time, C = $CONNECTIONS / nodes"
echo "(16 over 3 nodes: 6, 5, 5); the search with \`-s search.lua\` (\`paperboy-bench queries --records $(basename "$ARXIV") --queries $QUERIES --seed $SEED --lua search.lua --path /search\`: the $QUERIES queries in turn). $ROUNDS rounds,"
echo "the configurations interleaved within each round; every figure is the median over the rounds. Idle nodes stay up."
echo "Bodies (one request, uncompressed): /papers $(curl -s -o /dev/null -w '%{size_download}' "${NODE_URL[pg-1]}/papers") B on PostgreSQL, $(curl -s -o /dev/null -w '%{size_download}' "${NODE_URL[sqlite]}/papers") B on SQLite; the first search $(curl -s -o /dev/null -w '%{size_download}' "${NODE_URL[pg-1]}/search$FIRST_Q") B / $(curl -s -o /dev/null -w '%{size_download}' "${NODE_URL[sqlite]}/search$FIRST_Q") B."
echo
echo "| page | configuration | requests/s (sum) | vs SQLite | p99 worst node | p99 median node | p50 median node | CPU ms per request: nodes / PostgreSQL / wrk / rest | machine busy | non-2xx, socket errors |"
echo "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"
for kind in papers search; do
    base=$(awk -F'\t' -v k="$kind" '$1 == k && $2 == "sqlite" { print $4 }' "$LOAD" | median)
    for config in "${CONFIGS[@]}"; do
        col() { awk -F'\t' -v k="$kind" -v c="$config" -v f="$1" '$1 == k && $2 == c { print $f }' "$LOAD" | median; }
        ms() { printf '%.1f ms' "$(col "$1")"; }
        # CPU seconds of field F (or, for "rest", busy less nodes, PostgreSQL and wrk) per request, in ms.
        per_req() { awk -F'\t' -v k="$kind" -v c="$config" -v f="$1" '$1 == k && $2 == c && $8 > 0 {
                        v = (f == "rest") ? $13 - $9 - $10 - $11 : $f; printf "%.2f\n", 1000 * v / $8 }' "$LOAD" | median; }
        rps=$(col 4)
        if [ "$kind" = papers ]; then label=/papers; else label="/search?q=…"; fi
        echo "| $label | $(config_label "$config") | $(printf '%.0f' "$rps") | $(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.2f×", a / b }') | $(ms 5) | $(ms 6) | $(ms 7) | $(per_req 9) / $(per_req 10) / $(per_req 11) / $(per_req rest) | $(col 12)% | $(awk -F'\t' -v k="$kind" -v c="$config" '$1 == k && $2 == c { b += $14; e += $15 } END { print b + 0 ", " e + 0 }' "$LOAD") |"
    done
done
echo
echo "What this database's PostgreSQL backends were doing (pg_stat_activity every 0.25 s during the runs, all rounds; idle nodes' backends included):"
echo
echo "| page | configuration | snapshots | backends per snapshot | active per snapshot | of the active: running (no wait event) | of the active: waiting on |"
echo "|---|---|---:|---:|---:|---:|---|"
for kind in papers search; do
    for config in "${CONFIGS[@]}"; do
        [ "$config" = sqlite ] && continue
        if [ "$kind" = papers ]; then label=/papers; else label="/search?q=…"; fi
        cat "$WORK"/wrk/"$kind-$config"-r*.waits | awk -v l="$label" -v c="$(config_label "$config")" '
            $0 == "#" { snaps++; next }
            NF { backends++ }
            $1 == "active" { active++; if ($2 == "-") running++; else waits[$2]++ }
            END {
                if (snaps == 0 || active == 0) { printf "| %s | %s | %d | – | – | – | – |\n", l, c, snaps; exit }
                rest = ""
                while (1) { best = ""; for (w in waits) if (best == "" || waits[w] > waits[best]) best = w
                            if (best == "" || shown++ == 5) break
                            rest = rest sprintf("%s%s %.1f%%", rest == "" ? "" : "; ", best, 100 * waits[best] / active); delete waits[best] }
                printf "| %s | %s | %d | %.1f | %.2f | %.1f%% | %s |\n", l, c, snaps, backends / snaps, active / snaps, 100 * running / active, rest == "" ? "nothing" : rest
            }'
    done
done
echo
echo "Requests/s in each round (sum over the nodes):"
echo
echo "| page | configuration | $(seq 1 "$ROUNDS" | sed 's/^/round /' | paste -sd'|' | sed 's/|/ | /g') |"
echo "|---|---|$(seq 1 "$ROUNDS" | sed 's/.*/---:/' | paste -sd'|')|"
for kind in papers search; do
    for config in "${CONFIGS[@]}"; do
        echo "| $kind | $(config_label "$config") | $(awk -F'\t' -v k="$kind" -v c="$config" '$1 == k && $2 == c { printf "%s%.0f", (n++ ? " | " : ""), $4 }' "$LOAD") |"
    done
done
echo
echo "- CPU per request: utime + stime of the loaded nodes' processes (/proc/PID/stat), of this database's PostgreSQL"
echo "  backends (pg_stat_activity), and of the wrk processes, over all their requests; machine busy: /proc/stat, all CPUs."
echo "- nodes' peak RSS after the load: $(for name in sqlite "${PG_NODES[@]}"; do printf '%s %s; ' "$name" "$(awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/${NODE_PID[$name]}/status")"; done)"
echo "- raw wrk output and the exact command of every run: $WORK/wrk/"
} | tee -a "$WORK/report.md"

# PostgreSQL transactions per request, counted on a quiet machine: a backend hands its counts to
# pg_stat_database up to 10 s after it goes idle, so each count waits 11 s.
SEQUENTIAL=200
xacts_after_quiet() { sleep 11; xacts; }
x0=$(xacts_after_quiet); x1=$(xacts_after_quiet)
for _ in $(seq 1 "$SEQUENTIAL"); do curl -fsS -o /dev/null "${NODE_URL[pg-1]}/papers"; done
x2=$(xacts_after_quiet)
grep -o '"/search?q=[^"]*"' "$WORK/search.lua" | tr -d '"' >"$WORK/search.paths"
head -n "$SEQUENTIAL" "$WORK/search.paths" | while read -r q; do curl -fsS -o /dev/null "${NODE_URL[pg-1]}$q"; done
x3=$(xacts_after_quiet)
{
echo "- PostgreSQL transactions (pg_stat_database xact_commit + xact_rollback; a statement outside a transaction counts as one) per request, $SEQUENTIAL requests one after the other to pg-1 (curl): /papers $(awk -v a="$x1" -v b="$x2" -v c="$x0" -v n="$SEQUENTIAL" 'BEGIN { printf "%.1f", (b - a - (a - c)) / n }'), /search $(awk -v a="$x2" -v b="$x3" -v c="$x0" -v d="$x1" -v n="$SEQUENTIAL" 'BEGIN { printf "%.1f", (b - a - (d - c)) / n }') (less the $((x1 - x0)) transactions the $NODES idle nodes' polling made in an idle 11 s, counted first)"
} | tee -a "$WORK/report.md"

# The nodes stop before the votes run (SIGTERM: a clean exit is 0); their logs are summed up last.
for name in sqlite "${PG_NODES[@]}"; do
    kill -0 "${NODE_PID[$name]}" 2>/dev/null || { echo "- $name: **died during the run**" >>"$WORK/nodes.md"; continue; }
    kill "${NODE_PID[$name]}"; rc=0; wait "${NODE_PID[$name]}" || rc=$?
    echo "- $name: exit $rc after SIGTERM; $(grep -cE 'WARN|ERROR' "$WORK/$name.log" || true) WARN/ERROR lines" >>"$WORK/nodes.md"
    { grep -E 'WARN|ERROR' "$WORK/$name.log" || true; } | sed -E 's/^[0-9T:.Z-]+ +//' | cut -c1-300 | sort | uniq -c | sort -rn \
        | head -5 | sed 's/^ */    - /' >>"$WORK/nodes.md" || true
done
NODE_NAMES=()

# 4. Votes ------------------------------------------------------------------------------------
PG_ASYNC_OPTS="options=-c%20synchronous_commit%3Doff"
{
echo
echo "### 4. Votes through the store"
echo
echo "\`paperboy-bench votes --url URL --concurrency C --seconds $VOTE_SECONDS\` (50 papers, 1,000 accounts signed in first, not timed):"
echo "C tokio tasks, each owning its share of the accounts, cast or retract a random one of its (account, paper) votes and wait for the answer."
echo "URL: a new SQLite file (WAL, synchronous=NORMAL: paperboy's settings), a fresh PostgreSQL database, and the same with"
echo "\`?$PG_ASYNC_OPTS\` (commits not waiting for the WAL flush, as SQLite's NORMAL does not fsync each commit)."
echo "Each run ends by checking every paper: vote rows (\`count_votes\`) = \`local_upvotes\` = the votes its voters know they left."
echo
} | tee -a "$WORK/report.md"
HEADER=1
wal_syncs() { sql 'SELECT wal_sync FROM pg_stat_wal'; }
: >"$WORK/votes.md"
# vote_run NOTE C URL [ARGS...]: one paperboy-bench votes run, its row into the report, and a note
# (its own CPU, the machine's, WAL flushes on PostgreSQL) for the list after the table.
vote_run() {
    local note=$1 c=$2 url=$3 w0=0 b0 t0 b1 t1; shift 3
    case "$url" in postgres*) w0=$(wal_syncs) ;; esac
    read -r b0 t0 < <(busy_total)
    /usr/bin/time -f '%e %U %S' -o "$WORK/votes.cpu" \
        "$BENCH" votes ${HEADER:+--header} --url "$url" --concurrency "$c" --seconds "$VOTE_SECONDS" "$@" | tee -a "$WORK/report.md"
    read -r b1 t1 < <(busy_total)
    HEADER=
    {
        printf -- '- %s, concurrency %s: the benchmark process used %s s of CPU in %s s (setup included); machine busy %s%%' "$note" "$c" \
            "$(awk '{ printf "%.1f", $2 + $3 }' "$WORK/votes.cpu")" "$(awk '{ print $1 }' "$WORK/votes.cpu")" \
            "$(awk -v a="$b0" -v b="$b1" -v c="$t0" -v d="$t1" 'BEGIN { printf "%.0f", 100 * (b - a) / (d - c) }')"
        case "$url" in postgres*) printf '; %s WAL flushes (pg_stat_wal.wal_sync, whole server; the 1,000 sign-ins are about 1,000 of them)' "$(($(wal_syncs) - w0))" ;; esac
        echo
    } >>"$WORK/votes.md"
}
for c in 1 16; do
    vote_run SQLite "$c" "$DIR/votes-c$c.sqlite3"
    create_db "${DB}_votes_c$c"
    vote_run PostgreSQL "$c" "$(db_url "${DB}_votes_c$c")"
    create_db "${DB}_votes_async_c$c"
    url=$(db_url "${DB}_votes_async_c$c")
    case "$url" in *\?*) url="$url&$PG_ASYNC_OPTS" ;; *) url="$url?$PG_ASYNC_OPTS" ;; esac
    vote_run "PostgreSQL, synchronous_commit=off" "$c" "$url" --label "PostgreSQL, synchronous_commit=off"
done
{
echo
cat "$WORK/votes.md"
} | tee -a "$WORK/report.md"

{
echo
echo "### 5. Node logs (level warn)"
echo
cat "$WORK/nodes.md"
echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$WORK/report.md"
echo
echo "report: $WORK/report.md" >&2
