#!/usr/bin/env bash
# Tome on SQLite next to Tome on PostgreSQL, same run, same binary, same requests: article create
# (a serialised write transaction with the credit charge) and article get over HTTP with wrk.
# Reports req/s, latency and server CPU for both and the ratio PostgreSQL ÷ SQLite.
#
# Usage (from anywhere):  bench/backends.sh
# Settings (environment):
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres
#                            a server where the run may create (and then drops) a database
#   BENCH_DURATION=10        seconds per phase
#   BENCH_THREADS=2          wrk threads
#   BENCH_CONNECTIONS=8      wrk connections
#   BENCH_TMPDIR=$TMPDIR     where the SQLite database goes (use a real disk, not tmpfs)
#   CARGO_TARGET_DIR         as usual for cargo (default: ./target)
# Both backends run at their durable defaults: SQLite synchronous=FULL, PostgreSQL as configured
# (synchronous_commit on by default). Writes bench/results/backends.md (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
DURATION=${BENCH_DURATION:-10}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-8}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
ARTICLE=$ROOT/bench/article.json
RESULTS=$ROOT/bench/results
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require wrk curl cargo psql awk sed grep getconf || exit 1

echo "==> building the release binary (minutes on a first build)"
cargo build --release --quiet -p tome --bin tome
TOME=$TARGET_DIR/release/tome

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-bench.XXXXXX")
SERVER_PID=
DB=tome_bench_$(date +%s)_$$
PG_ADMIN=$PG_URL
cleanup() {
    stop_pid "$SERVER_PID"
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DB" || {
    echo "error: cannot create a database through $PG_URL; set BENCH_PG_URL" >&2
    exit 1
}
# The same server and credentials, the new database.
PG_BENCH_URL=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$DB#" <<<"$PG_URL")
FSTYPE=$(df -PT "$WORK" 2>/dev/null | awk 'NR == 2 { print $2 }')
BUSY_BEFORE=$(busy_percent)
if ((BUSY_BEFORE > 10)); then
    echo "warning: the CPUs were ${BUSY_BEFORE}% busy before the run; other work will skew the figures." >&2
fi

# One wrk phase against the running server; prints "rps p50 p99 cpu_us_per_req".
phase() { # phase <name> <lua script>
    local out=$WORK/wrk-$BACKEND-$1.txt before after
    before=$(cpu_ticks "$SERVER_PID")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/bench/$2" "$BASE" \
        >"$out" 2>"$out.err" || { cat "$out.err" >&2; exit 1; }
    after=$(cpu_ticks "$SERVER_PID")
    if [[ -s $out.err || $(wrk_errors "$out") != 0 ]]; then
        echo "error: failed requests in $BACKEND $1:" >&2
        cat "$out" "$out.err" >&2
        exit 1
    fi
    local reqs
    reqs=$(wrk_reqs "$out")
    echo "$(wrk_rps "$out") $(wrk_pct "$out" 50%) $(wrk_pct "$out" 99%)" \
        "$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')"
}

declare -A R
for BACKEND in sqlite postgres; do
    echo "==> $BACKEND: starting tome serve"
    if [[ $BACKEND == sqlite ]]; then
        start_tome "$TOME" "$WORK/data" "$WORK/server-$BACKEND" --admin-rate-limit 1000000000 || exit 1
    else
        start_tome "$TOME" "$WORK/unused" "$WORK/server-$BACKEND" --admin-rate-limit 1000000000 \
            --database-url "$PG_BENCH_URL" || exit 1
    fi
    auth=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
    KB=$(curl -sS --fail-with-body "${auth[@]}" -d '{"title":"Bench","slug":"bench"}' "$BASE/v1/kb" |
        sed -n 's/^{"data":{"id":"\([^"]*\)".*/\1/p')
    CATEGORY=$(curl -sS --fail-with-body "${auth[@]}" -d '{"name":"Account"}' "$BASE/v1/kb/$KB/categories" |
        sed -n 's/^{"data":{"id":"\([^"]*\)".*/\1/p')
    export TOME_KEY=$KEY TOME_KB=$KB TOME_CATEGORY=$CATEGORY BENCH_ARTICLE=$ARTICLE
    export BENCH_IDS=$WORK/ids-$BACKEND.txt
    echo "    create: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
    R[$BACKEND.create]=$(phase create create.lua)
    curl -sS --fail-with-body -G "${auth[@]}" --data-urlencode limit=100 "$BASE/v1/kb/$KB/articles" |
        grep -o '"id":"kba_[0-9A-Za-z]*"' | cut -d'"' -f4 >"$BENCH_IDS"
    echo "    get: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s"
    R[$BACKEND.get]=$(phase get get.lua)
    stop_pid "$SERVER_PID"
    SERVER_PID=
done

field() { awk -v i="$2" '{ print $i }' <<<"${R[$1]}"; }
ratio() { awk -v p="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0 ? p / s : 0) }'; }
mkdir -p "$RESULTS"
{
    echo "# Tome on SQLite vs PostgreSQL, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Commit $(bench_rev); $(nproc) CPUs ($(cpu_model)); SQLite on ${FSTYPE:-unknown}, synchronous=FULL"
    echo "- PostgreSQL $(psql "$PG_ADMIN" -Atc 'SHOW server_version' 2>/dev/null), synchronous_commit=$(psql "$PG_ADMIN" -Atc 'SHOW synchronous_commit' 2>/dev/null), same machine, TCP loopback"
    echo "- wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per phase; CPUs ${BUSY_BEFORE}% busy before the run"
    echo
    echo "| | SQLite | PostgreSQL | PostgreSQL ÷ SQLite |"
    echo "|---|---:|---:|---:|"
    for op in create get; do
        echo "| $op req/s | $(field sqlite.$op 1) | $(field postgres.$op 1) | $(ratio "$(field postgres.$op 1)" "$(field sqlite.$op 1)") |"
        echo "| $op p50 / p99 (ms) | $(field sqlite.$op 2) / $(field sqlite.$op 3) | $(field postgres.$op 2) / $(field postgres.$op 3) | |"
        echo "| $op server CPU µs/req | $(field sqlite.$op 4) | $(field postgres.$op 4) | |"
    done
    echo
    echo "Server CPU is the tome process only; PostgreSQL's own CPU is not counted."
} >"$RESULTS/backends.md"
echo
cat "$RESULTS/backends.md"
