#!/usr/bin/env bash
# Tome HTTP benchmark: article create and get over HTTP against SQLite, each next to raw SQLite
# doing the same insert/select in the same run. See bench/README.md.
#
# Usage (from anywhere; it works from the repository root):  bench/run.sh
# Settings (environment):
#   BENCH_DURATION=10        seconds per phase
#   BENCH_THREADS=2          wrk threads
#   BENCH_CONNECTIONS=8      wrk connections = raw SQLite tasks
#   BENCH_SYNCHRONOUS=full   SQLite synchronous for both sides (full | normal)
#   BENCH_TMPDIR=$TMPDIR     where the temporary databases go (use a real disk, not tmpfs)
#   CARGO_TARGET_DIR         as usual for cargo (default: ./target)
# Writes bench/results/latest.md (git-ignored) and the raw wrk outputs next to it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
SYNC=${BENCH_SYNCHRONOUS:-full}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ARTICLE=$ROOT/bench/article.json
RESULTS=$ROOT/bench/results

missing=0
for tool in wrk curl cargo awk sed grep getconf; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: '$tool' is required but not installed." >&2
        missing=1
    fi
done
if ! command -v wrk >/dev/null 2>&1; then
    echo "  Install wrk with:  sudo apt-get install -y wrk   (macOS: brew install wrk)" >&2
fi
[[ $missing == 0 ]] || exit 1
case $SYNC in full | normal) ;; *) echo "error: BENCH_SYNCHRONOUS must be full or normal" >&2; exit 1 ;; esac

echo "==> building release binaries (tome, raw_sqlite example; minutes on a first build)"
cargo build --release --quiet -p tome -p tome-store --bin tome --example raw_sqlite
TOME=$TARGET_DIR/release/tome
RAW=$TARGET_DIR/release/examples/raw_sqlite

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-bench.XXXXXX")
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
FSTYPE=$(df -PT "$WORK" 2>/dev/null | awk 'NR == 2 { print $2 }')
FSTYPE=${FSTYPE:-unknown}
if [[ $FSTYPE == tmpfs || $FSTYPE == ramfs ]]; then
    echo "warning: $WORK is on $FSTYPE, where fsync costs nothing; set BENCH_TMPDIR to a disk." >&2
fi

# How busy the machine is before we start (percent of all CPUs over one second).
busy_percent() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2];
        printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}
BUSY_BEFORE=$(busy_percent)
if ((BUSY_BEFORE > 10)); then
    echo "warning: the CPUs were ${BUSY_BEFORE}% busy before the run; other work will skew the figures." >&2
fi

echo "==> starting tome serve (data in $WORK/data, synchronous=$SYNC)"
"$TOME" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" --sqlite-synchronous "$SYNC" \
    --admin-rate-limit 1000000000 --log-format json >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
ADDR=
for _ in $(seq 100); do
    ADDR=$(grep -o '"addr":"[^"]*"' "$WORK/server.err" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)
    [[ -n $ADDR ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $ADDR ]]; then
    echo "error: the server did not start:" >&2
    cat "$WORK/server.err" >&2
    exit 1
fi
BASE=http://$ADDR
KEY=$(grep -oE 'tome_[0-9A-Za-z]{38}' "$WORK/server.out" | head -n1 || true)
[[ -n $KEY ]] || { echo "error: no admin key in the server's output" >&2; exit 1; }
echo "    listening on $BASE"

# POST JSON, print the new entity's data.id.
create() {
    local out
    out=$(curl -sS --fail-with-body -X POST -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -d "$2" "$BASE$1") || {
        echo "error: POST $1 failed: $out" >&2
        exit 1
    }
    sed -n 's/^{"data":{"id":"\([^"]*\)".*/\1/p' <<<"$out"
}
KB=$(create /v1/kb/ '{"title":"Benchmark","slug":"benchmark"}')
CATEGORY=$(create "/v1/kb/$KB/categories" '{"name":"Account"}')
[[ -n $KB && -n $CATEGORY ]] || { echo "error: could not create the KB and category" >&2; exit 1; }
export TOME_KEY=$KEY TOME_KB=$KB TOME_CATEGORY=$CATEGORY BENCH_ARTICLE=$ARTICLE BENCH_IDS=$WORK/ids.txt

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat)
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
to_ms() { # wrk duration (850.00us, 1.23ms, 1.05s) -> milliseconds
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# Runs one wrk phase; sets <NAME>_RPS, _P50, _P99 (ms), _REQS, _ERRS, _CPU (µs per request).
run_wrk() {
    local name=$1 script=$2 before after out
    out=$WORK/wrk-$name.txt
    echo "==> HTTP $name: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
    before=$(cpu_ticks "$SERVER_PID")
    local status=0
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/bench/$script" "$BASE" \
        >"$out" 2>"$out.err" || status=$?
    after=$(cpu_ticks "$SERVER_PID")
    # wrk reports Lua errors on stderr, and may still run (with every request failing).
    if [[ $status != 0 || -s $out.err ]]; then
        echo "error: wrk failed (exit status $status):" >&2
        sort -u "$out.err" >&2
        exit 1
    fi
    local rps p50 p99 reqs errs sock
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
    reqs=$(awk '/requests in/ { print $1 }' "$out")
    errs=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
    errs=$((${errs:-0} + ${sock:-0}))
    local cpu
    cpu=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')
    printf '    %s req/s, p50 %s ms, p99 %s ms, %s requests, %s errors, server CPU %s µs/req\n' \
        "$rps" "$p50" "$p99" "$reqs" "$errs" "$cpu"
    if [[ $errs != 0 ]]; then # figures from failed requests mean nothing
        echo "error: $errs failed requests in the $name phase:" >&2
        cat "$out" >&2
        exit 1
    fi
    printf -v "${name^^}_RPS" %s "$rps"
    printf -v "${name^^}_P50" %s "$p50"
    printf -v "${name^^}_P99" %s "$p99"
    printf -v "${name^^}_REQS" %s "$reqs"
    printf -v "${name^^}_ERRS" %s "$errs"
    printf -v "${name^^}_CPU" %s "$cpu"
}

# One request of each kind first, so a broken setup shows the server's error message.
probe() { # probe <curl args...>
    local out
    out=$(curl -sS --fail-with-body -H "Authorization: Bearer $KEY" "$@" 2>&1) || {
        echo "error: probe request failed: $out" >&2
        exit 1
    }
}
probe -X POST -H 'Content-Type: application/json' \
    --data-binary "$(sed "s/__CATEGORY_ID__/$CATEGORY/" "$ARTICLE")" "$BASE/v1/kb/$KB/articles"
run_wrk create create.lua

# The get phase rotates through (up to) the first 1000 articles created above.
: >"$BENCH_IDS"
cursor=
for _ in $(seq 10); do
    page=$(curl -sS --fail-with-body -G -H "Authorization: Bearer $KEY" --data-urlencode limit=100 \
        ${cursor:+--data-urlencode "cursor=$cursor"} "$BASE/v1/kb/$KB/articles")
    grep -o '"id":"kba_[0-9A-Za-z]*"' <<<"$page" | cut -d'"' -f4 >>"$BENCH_IDS" || true
    cursor=$(grep -o '"next_cursor":"[^"]*"' <<<"$page" | cut -d'"' -f4 || true)
    [[ -n $cursor ]] || break
done
echo "    $(wc -l <"$BENCH_IDS") article IDs for the get phase"

probe "$BASE/v1/kb/$KB/articles/$(head -n1 "$BENCH_IDS")"
run_wrk get get.lua

kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

echo "==> raw SQLite: $CONNECTIONS tasks, ${DURATION}s per phase"
"$RAW" --article "$ARTICLE" --duration "$DURATION" --concurrency "$CONNECTIONS" \
    --synchronous "$SYNC" --dir "$WORK/raw" | tee "$WORK/raw.txt" | sed 's/^/    /'
raw() { # raw <phase> <key>
    grep "^raw $1 " "$WORK/raw.txt" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
RAW_CREATE_RPS=$(raw create ops_per_sec)
RAW_CREATE_P50=$(awk -v u="$(raw create p50_us)" 'BEGIN { printf "%.3f", u / 1000 }')
RAW_CREATE_P99=$(awk -v u="$(raw create p99_us)" 'BEGIN { printf "%.3f", u / 1000 }')
RAW_CREATE_CPU=$(raw create cpu_us_per_op)
RAW_GET_RPS=$(raw get ops_per_sec)
RAW_GET_P50=$(awk -v u="$(raw get p50_us)" 'BEGIN { printf "%.3f", u / 1000 }')
RAW_GET_P99=$(awk -v u="$(raw get p99_us)" 'BEGIN { printf "%.3f", u / 1000 }')
RAW_GET_CPU=$(raw get cpu_us_per_op)

CREATE_RATIO=$(awk -v h="$CREATE_RPS" -v r="$RAW_CREATE_RPS" 'BEGIN { printf "%.2f", h / r }')
GET_RATIO=$(awk -v h="$GET_RPS" -v r="$RAW_GET_RPS" 'BEGIN { printf "%.2f", h / r }')
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "NOT met") }'; }
CREATE_GOAL=$(verdict "$(awk -v x="$CREATE_RATIO" 'BEGIN { print (x >= 0.3) }')")
GET_GOAL=$(verdict "$(awk -v x="$GET_P99" 'BEGIN { print (x < 2) }')")

REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Only changes to what gets measured count (not to bench/ or the baseline example).
if [[ -n $(git status --porcelain -- crates Cargo.toml Cargo.lock \
    ':!crates/tome-store/examples' 2>/dev/null) ]]; then
    REV="$REV with uncommitted changes"
fi
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
BODY_BYTES=$(raw article body_bytes)

mkdir -p "$RESULTS"
cp "$WORK/wrk-create.txt" "$WORK/wrk-get.txt" "$WORK/raw.txt" "$RESULTS/"
{
    echo "# Tome benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Commit $REV; $(nproc) CPUs ($CPU_MODEL); databases on $FSTYPE"
    echo "- SQLite WAL, synchronous=$SYNC, foreign_keys on, both sides"
    echo "- HTTP: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s; raw: $CONNECTIONS tokio tasks for ${DURATION}s," \
        "one write connection and 8 read connections, like the store"
    echo "- Article JSON $(wc -c <"$ARTICLE") bytes (Markdown body $BODY_BYTES bytes)"
    echo "- CPUs ${BUSY_BEFORE}% busy in the second before the run"
    echo "- Failed HTTP requests: create $CREATE_ERRS, get $GET_ERRS"
    echo
    echo "| | HTTP (tome serve) | raw SQLite | HTTP ÷ raw | goal |"
    echo "|---|---:|---:|---:|---|"
    echo "| create ops/s | $CREATE_RPS | $RAW_CREATE_RPS | $CREATE_RATIO | ≥ 0.3× raw: $CREATE_GOAL |"
    echo "| create p50 / p99 (ms) | $CREATE_P50 / $CREATE_P99 | $RAW_CREATE_P50 / $RAW_CREATE_P99 | | |"
    echo "| create CPU µs/op | $CREATE_CPU | $RAW_CREATE_CPU | | |"
    echo "| get ops/s | $GET_RPS | $RAW_GET_RPS | $GET_RATIO | |"
    echo "| get p50 / p99 (ms) | $GET_P50 / $GET_P99 | $RAW_GET_P50 / $RAW_GET_P99 | | p99 < 2 ms: $GET_GOAL |"
    echo "| get CPU µs/op | $GET_CPU | $RAW_GET_CPU | | |"
    echo
    echo "HTTP CPU is the server process only (wrk excluded); raw CPU is the whole baseline process."
} >"$RESULTS/latest.md"

echo
cat "$RESULTS/latest.md"
echo
echo "(written to ${RESULTS#"$ROOT"/}/latest.md)"
