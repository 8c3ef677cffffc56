#!/usr/bin/env bash
# Dashboard benchmark: the 7,424 tldr pages in one knowledge base, a signed-in browser session,
# and the server time of the content tree, search, editor and overview pages next to the REST
# calls they are drawn from, plus the editor's preview of a 20 KB article. Goals (issue 25):
# p99 < 20 ms for the tree and search pages, p99 < 30 ms for the preview.
# See bench/README.md ("Dashboard"); the driver is bench/dashboard.py.
#
# Usage (from anywhere):  bench/dashboard.sh
# Settings (environment):
#   TOME_BIN                  a tome binary to use instead of building the release one
#   BENCH_ROUNDS=200          timed requests per page (after 5 warm-up ones)
#   BENCH_QUERIES=300         search queries derived from tldr page descriptions
#   BENCH_SYNCHRONOUS=full    SQLite synchronous of the server and the import (full | normal)
#   BENCH_TMPDIR=$TMPDIR      where the work files go (use a real disk, not tmpfs)
# Writes bench/results/dashboard.md (git-ignored) and the raw figures in dashboard.json beside it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TLDR=$ROOT/../shared/corpora/tldr/pages-en.jsonl
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require python3 || exit 1
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

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-dashboard-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY=$(busy_percent)
((BUSY > 10)) && echo "warning: the CPUs were ${BUSY}% busy before the run; figures will be skewed" >&2

SYNC=${BENCH_SYNCHRONOUS:-full}
mkdir -p "$ROOT/bench/results"
python3 "$ROOT/bench/dashboard.py" --tome "$TOME" --work "$WORK" --tldr "$TLDR" \
    --results "$ROOT/bench/results/dashboard.md" --synchronous "$SYNC" \
    --rounds "${BENCH_ROUNDS:-200}" --queries "${BENCH_QUERIES:-300}" \
    --header "## Dashboard benchmark — $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(bench_rev)

Machine: $(cpu_model), $(nproc) CPUs, Linux $(uname -r); CPUs ${BUSY}% busy in the second before the run, load average $LOAD; SQLite synchronous=$SYNC."
