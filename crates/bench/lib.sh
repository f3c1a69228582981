# Shared by run.sh and scale.sh, which source it after setting ROOT: the work directory, the
# release binaries, sizes, and a `paperboy serve` to measure against. Only 127.0.0.1 is contacted.

PB=$ROOT/target/release/paperboy
BENCH=$ROOT/target/release/paperboy-bench
SERVER_PID=
BASE=

# new_work_dir GIVEN PREFIX: sets WORK to GIVEN (or a new /tmp/PREFIX.XXXXXX), which must not
# exist, creates it, and sets DIR (the paperboy data directory inside it).
new_work_dir() {
    WORK=${1:-$(mktemp -u "/tmp/$2.XXXXXX")}
    [ -e "$WORK" ] && { echo "$WORK exists: give a new directory" >&2; exit 2; }
    mkdir -p "$WORK"
    DIR=$WORK/data
}

bytes_of() { du -sb "$@" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# start_server [TRIES]: `paperboy serve` on DIR (port PORT, default any free one), waiting up to
# TRIES half-seconds (default 600) until its index has every change; sets SERVER_PID and BASE (the
# address the server reports it bound).
start_server() {
    PAPERBOY_LOG_LEVEL=warn "$PB" serve --data-dir "$DIR" --bind "127.0.0.1:${PORT:-0}" --no-demo \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 "${1:-600}"); do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
        BASE=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/server.log" | head -1 || true)
        if [ -n "$BASE" ] && curl -fsS "$BASE/api/status" 2>/dev/null | grep -q '"pendingChanges":0'; then return 0; fi
        sleep 0.5
    done
    echo "server did not become ready" >&2; exit 1
}
stop_server() {
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server died; its log:" >&2; cat "$WORK/server.log" >&2; exit 1; }
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}
# For EXIT traps: stops the server if one runs.
kill_server() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
}
