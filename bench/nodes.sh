#!/usr/bin/env bash
# Tome scale-out benchmark: cached public reads (`structure`) served by one node, then by two
# nodes sharing one PostgreSQL database and one Redis, with the same load generators in both
# runs; plus one node without Redis as the reference for what shared rate limits cost.
# See bench/README.md, section "Two nodes vs one".
#
# Usage (from the repository root):  bench/nodes.sh
# Settings (environment):
#   BENCH_DURATION=10        seconds per measured wrk run (after a 3 s warm-up)
#   BENCH_CONNECTIONS=16     wrk connections in all (split over two wrk processes)
#   BENCH_CLIENTS=16384      distinct X-Forwarded-For addresses (see bench/public.lua)
#   BENCH_PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres   where to create the database
#   BENCH_REDIS_URL=redis://127.0.0.1:6379
#   BENCH_TMPDIR, CARGO_TARGET_DIR   as for the other scripts
# Writes bench/results/nodes-latest.md (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
export BENCH_CLIENTS=${BENCH_CLIENTS:-16384}
PG_ADMIN=${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${BENCH_REDIS_URL:-redis://127.0.0.1:6379}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=$ROOT/bench/results

bench_require wrk curl jq psql cargo awk || exit 1

echo "==> building release tome (minutes on a first build)"
cargo build --release --quiet -p tome --bin tome
TOME=$TARGET_DIR/release/tome

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-nodes-bench.XXXXXX")
OUT=$RESULTS/nodes
rm -rf "$OUT"
mkdir -p "$OUT"
DB="tome_bench_nodes_$$"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

psql "$PG_ADMIN" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $DB" >/dev/null
DB_URL="${PG_ADMIN%/*}/$DB?sslmode=disable"
COMMON=(--database-url "$DB_URL" --admin-rate-limit 1000000000 --trusted-proxies 127.0.0.1)

BUSY_BEFORE=$(busy_percent)
((BUSY_BEFORE > 10)) && echo "warning: the CPUs were ${BUSY_BEFORE}% busy before the run"

# Node A bootstraps the database and holds the content.
start_tome "$TOME" "$WORK/a" "$OUT/a" "${COMMON[@]}" --redis-url "$REDIS"
PIDS+=("$SERVER_PID")
A_PID=$SERVER_PID A=$BASE
auth=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
KB=$(curl -sf "${auth[@]}" -X POST "$A/v1/kb" \
    -d '{"title": "Bench", "slug": "bench", "is_public": true}')
KB_ID=$(jq -r .data.id <<<"$KB")
export TOME_SITE_KEY=$(jq -r .data.site_key <<<"$KB")
for c in 1 2 3 4; do
    CAT=$(curl -sf "${auth[@]}" -X POST "$A/v1/kb/$KB_ID/categories" \
        -d "{\"name\": \"Category $c\"}" | jq -r .data.id)
    ARTICLES=$(jq -nc --arg cat "$CAT" --argjson c "$c" '{articles: [range(12) |
        {category_id: $cat, title: "Article \($c)-\(.)", excerpt: "What article \(.) is about.",
         body: "# Article\n\nSome text.", status: "published"}]}')
    curl -sf "${auth[@]}" -X POST "$A/v1/kb/$KB_ID/articles/bulk" -d "$ARTICLES" >/dev/null
done
curl -sf "${auth[@]}" -X PUT "$A/v1/kb/$KB_ID/site-key" -d '{"rate_limit": 1000}' >/dev/null
export BENCH_PATH=/v1/kb/public/bench/structure

# Two wrk processes, one per target (the same node twice, or one per node): the load generator
# is the same in every run.
measure() { # measure <name> <url1> <url2> <server pids...>
    local name=$1 u1=$2 u2=$3
    shift 3
    local half=$((CONNECTIONS / 2))
    for u in "$u1" "$u2"; do
        curl -sf -H "X-Minolith-Site-Key: $TOME_SITE_KEY" "$u$BENCH_PATH" >/dev/null
        wrk -t1 -c"$half" -d3s -s bench/public.lua "$u" >/dev/null
    done
    local before after
    before=$(cpu_ticks "$@")
    wrk -t1 -c"$half" -d"${DURATION}s" --latency -s bench/public.lua "$u1" >"$OUT/$name-1.txt" &
    local w1=$!
    wrk -t1 -c"$half" -d"${DURATION}s" --latency -s bench/public.lua "$u2" >"$OUT/$name-2.txt" &
    local w2=$!
    wait "$w1" "$w2"
    after=$(cpu_ticks "$@")
    local rps=$(($(wrk_rps "$OUT/$name-1.txt") + $(wrk_rps "$OUT/$name-2.txt")))
    local reqs=$(($(wrk_reqs "$OUT/$name-1.txt") + $(wrk_reqs "$OUT/$name-2.txt")))
    local errs=$(($(wrk_errors "$OUT/$name-1.txt") + $(wrk_errors "$OUT/$name-2.txt")))
    if ((errs > 0)); then
        echo "error: $errs failed requests in $name (see $OUT)" >&2
        exit 1
    fi
    local cpu_us
    cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" \
        'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    local p99a p99b
    p99a=$(wrk_pct "$OUT/$name-1.txt" 99%)
    p99b=$(wrk_pct "$OUT/$name-2.txt" 99%)
    printf '| %s | %s | %s | %s / %s |\n' "$name" "$rps" "$cpu_us" "$p99a" "$p99b" >>"$OUT/table.md"
    echo "$name: $rps req/s, $cpu_us µs server CPU/request, p99 $p99a / $p99b ms"
    echo "$rps" >"$OUT/$name.rps"
}

: >"$OUT/table.md"
echo "==> one node (Redis limits), both load generators on it"
measure one-node "$A" "$A" "$A_PID"

echo "==> two nodes (Redis limits), one load generator each"
KEY_OPTIONAL=1 start_tome "$TOME" "$WORK/b" "$OUT/b" "${COMMON[@]}" --redis-url "$REDIS"
PIDS+=("$SERVER_PID")
B_PID=$SERVER_PID B=$BASE
measure two-nodes "$A" "$B" "$A_PID" "$B_PID"
stop_pid "$B_PID"

echo "==> one node without Redis (per-node limits), for reference"
stop_pid "$A_PID"
KEY_OPTIONAL=1 start_tome "$TOME" "$WORK/a" "$OUT/a2" "${COMMON[@]}"
PIDS+=("$SERVER_PID")
measure one-node-no-redis "$BASE" "$BASE" "$SERVER_PID"

RATIO=$(awk -v a="$(cat "$OUT/two-nodes.rps")" -v b="$(cat "$OUT/one-node.rps")" \
    'BEGIN { printf "%.2f", a / b }')
{
    echo "# Two nodes vs one ($(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_rev))"
    echo
    echo "$(nproc) CPUs ($(cpu_model)); wrk, both nodes, PostgreSQL and Redis share them."
    echo "Cached \`GET $BENCH_PATH\`, ${CONNECTIONS} connections over two wrk processes, ${DURATION} s."
    echo
    echo "| run | req/s | server CPU µs/request | p99 ms (wrk 1 / wrk 2) |"
    echo "|---|---:|---:|---:|"
    cat "$OUT/table.md"
    echo
    echo "Two nodes ÷ one node: **${RATIO}×** req/s."
} >"$RESULTS/nodes-latest.md"
cat "$RESULTS/nodes-latest.md"
