#!/usr/bin/env bash
# MCP benchmark: `tools/call` of `get_article` and `search_articles` over Streamable HTTP
# (`POST /mcp`, revision 2026-07-28, stateless JSON) next to their REST equivalents
# (`GET /v1/kb/{kb}/articles/{id}`, `GET /v1/kb/{kb}/search?q=`) on one `tome serve` (SQLite)
# holding 1,000 tldr pages:
#   1. p50/p90/p99 latency, one client per protocol, one request at a time, the two alternating;
#   2. server CPU per call;
#   3. p50/p99 again with one wrk connection (`wrk -t1 -c1`): no Python client time in it;
#   4. calls/s, p50/p99 under load and CPU per call with wrk (bench/mcp.lua).
# Goal (issue 24): MCP within 1.3× of REST latency. See bench/README.md ("MCP"); the driver is
# bench/mcp.py.
#
# Usage (from anywhere):  bench/mcp.sh
# Settings (environment):
#   TOME_BIN                  a tome binary to use instead of building the release one
#   BENCH_ARTICLES=1000       tldr pages imported (spread over the corpus)
#   BENCH_QUERIES=200         search queries derived from their descriptions
#   BENCH_ROUNDS=5            timed latency rounds (after one warm-up)
#   BENCH_THREADS=2 BENCH_CONNECTIONS=8 BENCH_DURATION=10 BENCH_WARMUP=2   wrk settings
#   BENCH_WRK_ROUNDS=2        wrk rounds over the four calls (alternating)
#   BENCH_SYNCHRONOUS=full    SQLite synchronous of the server and the import (full | normal)
#   BENCH_TMPDIR=$TMPDIR      where the work files go
# Writes bench/results/mcp.md (git-ignored) and the raw figures in mcp.json beside it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TLDR=$ROOT/../shared/corpora/tldr/pages-en.jsonl
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require python3 wrk git || exit 1
[[ -f $TLDR ]] || { echo "error: ../shared/corpora/tldr not found (it sits beside the repo)" >&2; exit 1; }

if [[ -n ${TOME_BIN:-} ]]; then
    TOME=$TOME_BIN
else
    bench_require cargo || exit 1
    echo "==> building the release binary (minutes on a first build)"
    cargo build --release --quiet -p tome --bin tome
    TOME=${CARGO_TARGET_DIR:-$ROOT/target}/release/tome
fi
TOME=$(cd "$(dirname "$TOME")" && pwd)/$(basename "$TOME")

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-mcp-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY=$(busy_percent)
((BUSY > 10)) && echo "warning: the CPUs were ${BUSY}% busy before the run; figures will be skewed" >&2

SYNC=${BENCH_SYNCHRONOUS:-full}
mkdir -p "$ROOT/bench/results"
python3 "$ROOT/bench/mcp.py" --tome "$TOME" --work "$WORK" --tldr "$TLDR" --lua "$ROOT/bench/mcp.lua" \
    --results "$ROOT/bench/results/mcp.md" --synchronous "$SYNC" \
    --articles "${BENCH_ARTICLES:-1000}" --queries "${BENCH_QUERIES:-200}" --rounds "${BENCH_ROUNDS:-5}" \
    --threads "${BENCH_THREADS:-2}" --connections "${BENCH_CONNECTIONS:-8}" \
    --duration "${BENCH_DURATION:-10}" --warmup "${BENCH_WARMUP:-2}" --wrk-rounds "${BENCH_WRK_ROUNDS:-2}" \
    --header "## MCP benchmark — $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(bench_rev)

Machine: $(cpu_model), $(nproc) CPUs, Linux $(uname -r); CPUs ${BUSY}% busy in the second before the run, load average $LOAD; SQLite synchronous=$SYNC; $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2), Python $(python3 -c 'import platform; print(platform.python_version())')."
