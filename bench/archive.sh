#!/usr/bin/env bash
# Tome archive benchmark: `tome import` and `tome export` of the tldr corpus (thousands of small
# articles), each next to `tar` doing the file side of the same work in the same run.
# See bench/README.md ("Export and import").
#
# Usage (from anywhere):  bench/archive.sh
# Settings (environment):
#   BENCH_PAGES=7425          how many tldr pages to use (the corpus has 7,425)
#   BENCH_SYNCHRONOUS=full    SQLite synchronous for the imports (full | normal)
#   BENCH_TMPDIR=$TMPDIR      where the work files go (use a real disk, not tmpfs)
#   TOME_BIN                  a tome binary to use instead of building the release one
# Writes bench/results/archive.md (git-ignored).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PAGES=${BENCH_PAGES:-7425}
SYNC=${BENCH_SYNCHRONOUS:-full}
CORPUS=$ROOT/../shared/corpora/tldr/pages-en.jsonl
RESULTS=$ROOT/bench/results
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require cargo python3 tar awk || exit 1
[[ -f $CORPUS ]] || { echo "error: $CORPUS not found (the shared corpora sit beside the repo)" >&2; exit 1; }
case $SYNC in full | normal) ;; *) echo "error: BENCH_SYNCHRONOUS must be full or normal" >&2; exit 1 ;; esac

if [[ -n ${TOME_BIN:-} ]]; then
    TOME=$TOME_BIN
else
    echo "==> building the release binary (minutes on a first build)"
    cargo build --release --quiet -p tome --bin tome
    TOME=${CARGO_TARGET_DIR:-$ROOT/target}/release/tome
fi

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-archive-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
if [[ $(stat -f -c %T "$WORK") == tmpfs ]]; then
    echo "warning: $WORK is on tmpfs, where fsync is free; set BENCH_TMPDIR to a real disk" >&2
fi
BUSY=$(busy_percent)
((BUSY > 10)) && echo "warning: the CPUs were ${BUSY}% busy before the run; figures will be skewed" >&2

echo "==> writing $PAGES tldr pages as a folder of Markdown files"
python3 - "$CORPUS" "$WORK/src" "$PAGES" <<'PY'
import json, os, sys
corpus, out, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
def q(s):  # a JSON string is a YAML double-quoted scalar
    return json.dumps(s, ensure_ascii=False)
with open(corpus, encoding="utf-8") as f:
    for n, line in enumerate(f):
        if n >= limit:
            break
        page = json.loads(line)
        folder = os.path.join(out, page["category"])
        os.makedirs(folder, exist_ok=True)
        name = os.path.splitext(os.path.basename(page["path"]))[0]
        with open(os.path.join(folder, name + ".md"), "w", encoding="utf-8") as md:
            md.write(f"---\ntitle: {q(page['title'])}\nexcerpt: {q(page['excerpt'][:500])}\n"
                     f"status: published\n---\n\n{page['body']}")
PY
FILES=$(find "$WORK/src" -name '*.md' | wc -l)
BYTES=$(du -sb "$WORK/src" | awk '{ print $1 }')

# seconds <command>... : runs it (output to $WORK/last.log) and prints its wall time in seconds.
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; return 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
DATA=(--data-dir "$WORK/data" --sqlite-synchronous "$SYNC")
"$TOME" project create --name bench "${DATA[@]}" >/dev/null
PROJECT=$("$TOME" project list --json "${DATA[@]}" | awk -F'"' '/"id"/ { print $4; exit }')

echo "==> baseline: tar czf / tar xzf of the same folder"
TAR_C=$(seconds tar czf "$WORK/src.tgz" -C "$WORK/src" .)
mkdir "$WORK/untar"
TAR_X=$(seconds tar xzf "$WORK/src.tgz" -C "$WORK/untar")

echo "==> tome import (directory, then tarball)"
IMPORT_DIR=$(seconds "$TOME" import --project "$PROJECT" --from "$WORK/src" --slug from-dir \
    --json "${DATA[@]}")
KB=$(awk -F'"' '/"id": "kb_/ { print $4; exit }' "$WORK/last.log")
IMPORT_TGZ=$(seconds "$TOME" import --project "$PROJECT" --from "$WORK/src.tgz" --slug from-tgz \
    "${DATA[@]}")

echo "==> tome export (directory, then tarball)"
EXPORT_DIR=$(seconds "$TOME" export --kb "$KB" --project "$PROJECT" --out "$WORK/out" "${DATA[@]}")
EXPORT_TGZ=$(seconds "$TOME" export --kb "$KB" --project "$PROJECT" --out "$WORK/out.tgz" "${DATA[@]}")

rate() { awk -v n="$FILES" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
mkdir -p "$RESULTS"
{
    echo "# Archive benchmark ($(date -u +%Y-%m-%d), $(bench_rev), $(cpu_model), synchronous=$SYNC)"
    echo
    echo "$FILES tldr pages, $((BYTES / 1024)) KiB of Markdown; CPUs ${BUSY}% busy before the run."
    echo
    echo "| step | seconds | pages/s | × baseline |"
    echo "|---|---:|---:|---:|"
    echo "| baseline: \`tar xzf\` | $TAR_X | $(rate "$TAR_X") | 1.0 |"
    echo "| \`tome import\` directory | $IMPORT_DIR | $(rate "$IMPORT_DIR") | $(ratio "$IMPORT_DIR" "$TAR_X") |"
    echo "| \`tome import\` tarball | $IMPORT_TGZ | $(rate "$IMPORT_TGZ") | $(ratio "$IMPORT_TGZ" "$TAR_X") |"
    echo "| baseline: \`tar czf\` | $TAR_C | $(rate "$TAR_C") | 1.0 |"
    echo "| \`tome export\` directory | $EXPORT_DIR | $(rate "$EXPORT_DIR") | $(ratio "$EXPORT_DIR" "$TAR_C") |"
    echo "| \`tome export\` tarball | $EXPORT_TGZ | $(rate "$EXPORT_TGZ") | $(ratio "$EXPORT_TGZ" "$TAR_C") |"
} | tee "$RESULTS/archive.md"
