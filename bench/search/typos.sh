#!/usr/bin/env bash
# Typo tolerance on Cranfield: Tome's nDCG@10 with clean queries and with queries typo'd by two
# published typo generators (the `typo` package and nlpaug), three seeds each. See bench/README.md.
#
# Usage (from anywhere):  bench/search/typos.sh [--generate]
#   --generate   remake bench/search/typos/*.txt with typos.py first (pip-installs typo and
#                nlpaug); without it the checked-in query files are used.
# Settings (environment):
#   CARGO_TARGET_DIR   as usual for cargo (default: ./target)
#   BENCH_PROFILE      release (default) or dev: the figures are the same, dev builds faster
# Writes bench/results/search-typos.md (git-ignored) and the raw JSON next to it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${BENCH_PROFILE:-release}
CRANFIELD=$ROOT/../shared/corpora/cranfield
TYPOS=$ROOT/bench/search/typos
RESULTS=$ROOT/bench/results

[[ -f $CRANFIELD/cran.qry ]] || {
    echo "error: $CRANFIELD/cran.qry not found (the shared corpora sit beside the repository)" >&2
    exit 1
}

if [[ ${1-} == --generate ]]; then
    echo "==> generating typo'd queries (typo 0.1.7, nlpaug 1.1.11)"
    python3 -m pip install --quiet typo==0.1.7 nlpaug==1.1.11
    python3 "$ROOT/bench/search/typos.py" "$CRANFIELD" "$TYPOS"
fi

echo "==> building search_bench ($PROFILE)"
cargo build --quiet --profile "$PROFILE" -p tome-search --example search_bench
DIR=$([[ $PROFILE == dev ]] && echo debug || echo "$PROFILE")
BENCH=$TARGET_DIR/$DIR/examples/search_bench

mkdir -p "$RESULTS"
"$BENCH" typos "$CRANFIELD" "$TYPOS"/*.txt >"$RESULTS/search-typos.json"

OUT=$RESULTS/search-typos.md
{
    echo "## Typo tolerance (Cranfield, 225 queries) — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)"
    echo
    echo "| queries | nDCG@10 | recall@10 | of clean nDCG@10 |"
    echo "|---|---|---|---|"
    grep -o '{"queries"[^}]*}' "$RESULTS/search-typos.json" | while read -r row; do
        get() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$row" | tr -d '"'; }
        awk -v q="$(get queries)" -v n="$(get ndcg10)" -v r="$(get recall10)" -v o="$(get of_clean)" \
            'BEGIN { printf "| %s | %.4f | %.4f | %s |\n", q, n, r, (o == "" ? "–" : sprintf("%.1f%%", o * 100)) }'
    done
    echo
    echo "Goal: every typo'd set ≥ 90% of clean nDCG@10, clean unchanged."
} >"$OUT"
cat "$OUT"
