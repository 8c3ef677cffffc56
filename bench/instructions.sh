#!/usr/bin/env bash
# User-space instructions per cached public read, counted by callgrind inside a running tome:
# a figure that does not move with the machine's load, for A/B comparisons of small changes
# that wrk's req/s cannot resolve on a shared VM (its run-to-run noise is ±15%).
#
# Usage (from the repository root):  bench/instructions.sh [TOME_BINARY ...]
#   With no argument, measures this checkout's release build. Several binaries are measured in
#   turn (e.g. an older build first, then this one).
# Settings (environment):
#   BENCH_SECONDS=10     seconds of counted load per path (after 3 s uncounted)
#   BENCH_CONNECTIONS=4  wrk connections
# Needs valgrind (callgrind_control, callgrind_annotate) and what bench/public.sh needs. The
# server runs under callgrind (~50× slower), so the figures are instructions, not speed; kernel
# work (system calls, TCP) is not counted.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_require valgrind callgrind_control callgrind_annotate wrk || exit 1

SECONDS_COUNTED=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
if (($# == 0)); then
    cargo build --release --quiet -p tome --bin tome
    set -- "$TARGET_DIR/release/tome"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tome-instructions.XXXXXX")
HOLD_PID=
cleanup() {
    [[ -n $HOLD_PID ]] && kill "$HOLD_PID" 2>/dev/null && wait "$HOLD_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# public.sh starts the server through this wrapper, so the server runs under callgrind.
cat >"$WORK/under-callgrind" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out.%p" "\$BENCH_REAL_TOME" "\$@"
EOF
chmod +x "$WORK/under-callgrind"

for binary in "$@"; do
    export BENCH_REAL_TOME=$binary
    log=$WORK/hold.log
    BENCH_HOLD=1 BENCH_TOME="$WORK/under-callgrind" bench/public.sh >"$log" 2>&1 &
    HOLD_PID=$!
    for _ in $(seq 900); do
        grep -q "site key psk_" "$log" && break
        kill -0 "$HOLD_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 1
    done
    url=$(grep -o "tome  pid [0-9]*  http://[0-9.:]*" "$log" | awk '{print $4}')
    pid=$(grep -o "tome  pid [0-9]*" "$log" | awk '{print $3}')
    export TOME_SITE_KEY
    TOME_SITE_KEY=$(grep -o "site key psk_[a-z0-9]*" "$log" | awk '{print $3}')
    for name in structure article; do
        BENCH_PATH=$(grep -o "^    $name *\/v1[^ ]*" "$log" | awk '{print $2}')
        export BENCH_PATH
        wrk -t1 -c"$CONNECTIONS" -d3s -s bench/public.lua "$url" >/dev/null
        callgrind_control -z "$pid" >/dev/null 2>&1
        requests=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_COUNTED}s" -s bench/public.lua "$url" |
            awk '/requests in/ {print $1}')
        callgrind_control -d "$pid" >/dev/null 2>&1
        sleep 1
        dump=$(ls -t "$WORK"/callgrind.out."$pid".* | head -n1)
        total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
        printf '%-60s %-9s %8d requests  %7d instructions/request\n' \
            "$binary" "$name" "$requests" "$((total / requests))"
        rm -f "$dump"
    done
    kill "$HOLD_PID" 2>/dev/null
    wait "$HOLD_PID" 2>/dev/null || true
    HOLD_PID=
done
