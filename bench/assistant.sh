#!/usr/bin/env bash
# Assistant and documentation search benchmark: the 7,424 tldr pages (Tome layout) and the
# Mintlify docs imported into one `tome serve` (SQLite), then
#   1. `POST /v1/search/{domain}` p50/p99 next to the management search `GET /v1/kb/{kb}/search`
#      on the same queries (one client, alternating);
#   2. the extractive assistant's streamed answer (`POST /v2/assistant/{domain}/message`, SSE):
#      time to the first body byte, to the first text delta and to the end, p50/p99; and the same
#      message as one JSON object;
#   3. recall@5 of the passage search vs the whole-article search and vs SQLite FTS5 over the same
#      passages, on the hand-written question set (crates/tome/tests/assistant/questions.json).
# See bench/README.md ("Assistant and documentation search"); the driver is bench/assistant.py.
#
# Usage (from anywhere):  bench/assistant.sh
# Settings (environment):
#   TOME_BIN                  a tome binary to use instead of building the release one
#   BENCH_ROUNDS=5            timed rounds over each query and message set (after one warm-up)
#   BENCH_DERIVED=300         search queries derived from tldr page descriptions
#   BENCH_DERIVED_MESSAGES=100   of those, also asked of the assistant
#   BENCH_SYNCHRONOUS=full    SQLite synchronous of the server and the imports (full | normal)
#   BENCH_TMPDIR=$TMPDIR      where the work files go (use a real disk, not tmpfs)
# Writes bench/results/assistant.md (git-ignored) and the raw figures in assistant.json beside it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MINTLIFY=$ROOT/../shared/corpora/mintlify-docs
TLDR=$ROOT/../shared/corpora/tldr/pages-en.jsonl
QUESTIONS=$ROOT/crates/tome/tests/assistant/questions.json
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require python3 git || exit 1
[[ -f $MINTLIFY/docs.json && -f $TLDR ]] ||
    { echo "error: ../shared/corpora/{mintlify-docs,tldr} not found (they sit beside the repo)" >&2; exit 1; }
python3 -c 'import sqlite3; sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")' ||
    { echo "error: this python3's sqlite3 has no FTS5" >&2; exit 1; }

if [[ -n ${TOME_BIN:-} ]]; then
    TOME=$TOME_BIN
else
    bench_require cargo || exit 1
    echo "==> building the release binary (minutes on a first build)"
    cargo build --release --quiet -p tome --bin tome
    TOME=${CARGO_TARGET_DIR:-$ROOT/target}/release/tome
fi
TOME=$(cd "$(dirname "$TOME")" && pwd)/$(basename "$TOME")

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-assistant-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [[ $(stat -f -c %T "$WORK") == tmpfs ]]; then
    echo "warning: $WORK is on tmpfs, where fsync is free; set BENCH_TMPDIR to a real disk" >&2
fi
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY=$(busy_percent)
((BUSY > 10)) && echo "warning: the CPUs were ${BUSY}% busy before the run; figures will be skewed" >&2

SYNC=${BENCH_SYNCHRONOUS:-full}
mkdir -p "$ROOT/bench/results"
python3 "$ROOT/bench/assistant.py" --tome "$TOME" --work "$WORK" --tldr "$TLDR" --mintlify "$MINTLIFY" \
    --questions "$QUESTIONS" --results "$ROOT/bench/results/assistant.md" --synchronous "$SYNC" \
    --rounds "${BENCH_ROUNDS:-5}" --derived "${BENCH_DERIVED:-300}" \
    --derived-messages "${BENCH_DERIVED_MESSAGES:-100}" \
    --header "## Assistant benchmark — $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(bench_rev)

Machine: $(cpu_model), $(nproc) CPUs, Linux $(uname -r); CPUs ${BUSY}% busy in the second before the run, load average $LOAD; SQLite synchronous=$SYNC; $(python3 -c 'import sqlite3, platform; print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version} (FTS5)")')."
