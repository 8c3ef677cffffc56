#!/usr/bin/env bash
# Docs-as-code update benchmark: the Mintlify corpus and the 7,425 tldr pages as git repositories
# served by `git daemon` on 127.0.0.1, updated by a real `tome serve` (SQLite), each measure next
# to its baseline in the same run — first update vs `git clone --depth 1` + `tome import`,
# no-change update vs `git fetch`, a one-file change at 7.4k pages, and the job's peak RSS.
# See bench/README.md ("Updates from git"); the driver is bench/sync.py.
#
# Usage (from anywhere):  bench/sync.sh
# Settings (environment):
#   BENCH_SYNCHRONOUS=full    SQLite synchronous of the server and the imports (full | normal)
#   BENCH_REPS_FIRST=3        first updates (and floors) per corpus; the median is reported
#   BENCH_REPS_NOCHANGE=5     no-change updates (and git fetches) per corpus
#   BENCH_REPS_CHANGE=3       one-file changes (up to 5)
#   BENCH_TMPDIR=$TMPDIR      where the work files go (use a real disk, not tmpfs)
#   TOME_BIN                  a tome binary to use instead of building the release one
# Writes bench/results/sync.md (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MINTLIFY=$ROOT/../shared/corpora/mintlify-docs
TLDR=$ROOT/../shared/corpora/tldr/pages-en.jsonl
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require cargo git python3 || exit 1
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is required (Debian: apt-get install time)" >&2; exit 1; }
[[ -x "$(git --exec-path)/git-daemon" ]] || { echo "error: git daemon is required (Debian: the git package)" >&2; exit 1; }
[[ -f $MINTLIFY/docs.json && -f $TLDR ]] ||
    { echo "error: ../shared/corpora/{mintlify-docs,tldr} not found (they sit beside the repo)" >&2; exit 1; }

if [[ -n ${TOME_BIN:-} ]]; then
    TOME=$TOME_BIN
else
    echo "==> building the release binary (minutes on a first build)"
    cargo build --release --quiet -p tome --bin tome
    TOME=${CARGO_TARGET_DIR:-$ROOT/target}/release/tome
fi
TOME=$(cd "$(dirname "$TOME")" && pwd)/$(basename "$TOME")

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-sync-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [[ $(stat -f -c %T "$WORK") == tmpfs ]]; then
    echo "warning: $WORK is on tmpfs, where fsync is free; set BENCH_TMPDIR to a real disk" >&2
fi
BUSY=$(busy_percent)
((BUSY > 10)) && echo "warning: the CPUs were ${BUSY}% busy before the run; figures will be skewed" >&2

SYNC=${BENCH_SYNCHRONOUS:-full}
python3 "$ROOT/bench/sync.py" --tome "$TOME" --work "$WORK" --mintlify "$MINTLIFY" --tldr "$TLDR" \
    --results "$ROOT/bench/results/sync.md" --synchronous "$SYNC" \
    --reps-first "${BENCH_REPS_FIRST:-3}" --reps-nochange "${BENCH_REPS_NOCHANGE:-5}" \
    --reps-change "${BENCH_REPS_CHANGE:-3}" \
    --header "# Sync benchmark ($(date -u '+%Y-%m-%d %H:%M') UTC, $(bench_rev), $(cpu_model), $(nproc) CPUs, synchronous=$SYNC, $(git --version); CPUs ${BUSY}% busy before the run)"
