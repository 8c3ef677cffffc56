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
#   BENCH_TOME               a tome binary to measure instead of this checkout's (A/B comparisons; still built)
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
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require wrk curl cargo awk sed grep getconf || exit 1
case $SYNC in full | normal) ;; *) echo "error: BENCH_SYNCHRONOUS must be full or normal" >&2; exit 1 ;; esac

echo "==> building release binaries (tome, raw_sqlite example; minutes on a first build)"
cargo build --release --quiet -p tome -p tome-store --bin tome --example raw_sqlite
TOME=${BENCH_TOME:-$TARGET_DIR/release/tome} # BENCH_TOME: measure another build (A/B)
RAW=$TARGET_DIR/release/examples/raw_sqlite

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-bench.XXXXXX")
SERVER_PID=
cleanup() {
    stop_pid "$SERVER_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
FSTYPE=$(df -PT "$WORK" 2>/dev/null | awk 'NR == 2 { print $2 }')
FSTYPE=${FSTYPE:-unknown}
if [[ $FSTYPE == tmpfs || $FSTYPE == ramfs ]]; then
    echo "warning: $WORK is on $FSTYPE, where fsync costs nothing; set BENCH_TMPDIR to a disk." >&2
fi

# How busy the machine is before we start.
BUSY_BEFORE=$(busy_percent)
if ((BUSY_BEFORE > 10)); then
    echo "warning: the CPUs were ${BUSY_BEFORE}% busy before the run; other work will skew the figures." >&2
fi

echo "==> starting tome serve (data in $WORK/data, synchronous=$SYNC)"
start_tome "$TOME" "$WORK/data" "$WORK/server" --sqlite-synchronous "$SYNC" \
    --admin-rate-limit 1000000000 || exit 1
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
    local rps p50 p99 reqs errs
    rps=$(wrk_rps "$out")
    p50=$(wrk_pct "$out" 50%)
    p99=$(wrk_pct "$out" 99%)
    reqs=$(wrk_reqs "$out")
    errs=$(wrk_errors "$out")
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

stop_pid "$SERVER_PID"
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

REV=$(bench_rev)
CPU_MODEL=$(cpu_model)
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
