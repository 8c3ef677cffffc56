#!/usr/bin/env bash
# Tome search benchmark: quality on Cranfield next to SQLite FTS5 bm25(), then speed on the tldr
# pages (and a synthetic enlargement) in process and over HTTP. See bench/README.md.
#
# Usage (from anywhere):  bench/search/run.sh
# Settings (environment):
#   BENCH_SEARCH_SCALES="1 10"   tldr copies to measure (1 = 7,425 articles)
#   BENCH_SEARCH_HTTP=1          also measure over HTTP against a real `tome serve` (0: skip)
#   BENCH_SYNCHRONOUS=full       SQLite synchronous of the server (full | normal)
#   BENCH_TMPDIR=$TMPDIR         where the temporary data goes (use a real disk, not tmpfs)
#   CARGO_TARGET_DIR             as usual for cargo (default: ./target)
# Writes bench/results/search-latest.md (git-ignored) and the raw JSON next to it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
SCALES=${BENCH_SEARCH_SCALES:-1 10}
HTTP=${BENCH_SEARCH_HTTP:-1}
SYNC=${BENCH_SYNCHRONOUS:-full}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
CORPORA=$ROOT/../shared/corpora
RESULTS=$ROOT/bench/results
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

bench_require cargo awk sed grep getconf || exit 1
for f in "$CORPORA/cranfield/cran.all.1400" "$CORPORA/tldr/pages-en.jsonl"; do
    [[ -f $f ]] || { echo "error: $f not found (the shared corpora sit beside the repository)" >&2; exit 1; }
done

echo "==> building release binaries (tome, search_bench example; minutes on a first build)"
cargo build --release --quiet -p tome --bin tome
cargo build --release --quiet -p tome-search --example search_bench
TOME=$TARGET_DIR/release/tome
BENCH=$TARGET_DIR/release/examples/search_bench

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-search-bench.XXXXXX")
SERVER_PID=
cleanup() {
    stop_pid "$SERVER_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$RESULTS"

BUSY_BEFORE=$(busy_percent)
if ((BUSY_BEFORE > 10)); then
    echo "warning: the CPUs were ${BUSY_BEFORE}% busy before the run; speed figures will be skewed." >&2
fi

echo "==> quality: Cranfield (1,400 abstracts, 225 queries), Tome vs SQLite FTS5 bm25()"
"$BENCH" quality "$CORPORA/cranfield" >"$WORK/quality.json"
cp "$WORK/quality.json" "$RESULTS/search-quality.json"

: >"$WORK/speed.jsonl"
for scale in $SCALES; do
    if [[ $HTTP == 1 ]]; then
        echo "==> speed ×$scale: starting tome serve (synchronous=$SYNC)"
        start_tome "$TOME" "$WORK/data-$scale" "$WORK/server-$scale" \
            --sqlite-synchronous "$SYNC" --admin-rate-limit 1000000000 || exit 1
        echo "    in process, then over HTTP at $BASE"
        BENCH_SERVER_PID=$SERVER_PID "$BENCH" speed "$CORPORA/tldr/pages-en.jsonl" "$scale" "$BASE" "$KEY" "$WORK/data-$scale/search" \
            >>"$WORK/speed.jsonl"
        stop_pid "$SERVER_PID"
        SERVER_PID=
    else
        echo "==> speed ×$scale: in process"
        "$BENCH" speed "$CORPORA/tldr/pages-en.jsonl" "$scale" >>"$WORK/speed.jsonl"
    fi
done
cp "$WORK/speed.jsonl" "$RESULTS/search-speed.jsonl"

# Tables from the JSON, with the goals next to the figures.
OUT=$RESULTS/search-latest.md
{
    echo "## Search benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(bench_rev)"
    echo
    echo "Machine: $(cpu_model), $(getconf _NPROCESSORS_ONLN) CPUs; ${BUSY_BEFORE}% busy before the run."
    echo
    echo "### Quality (Cranfield; deterministic)"
    echo
    echo "| queries | Tome nDCG@10 | FTS5 nDCG@10 | Tome ÷ FTS5 | Tome recall@10 | FTS5 recall@10 |"
    echo "|---|---|---|---|---|---|"
    grep -o '{"queries"[^}]*}' "$WORK/quality.json" | while read -r row; do
        get() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$row" | tr -d '"'; }
        awk -v q="$(get queries)" -v tn="$(get tome_ndcg10)" -v fn="$(get fts5_ndcg10)" \
            -v tr="$(get tome_recall10)" -v fr="$(get fts5_recall10)" \
            'BEGIN { printf "| %s | %.4f | %.4f | %.2f× | %.4f | %.4f |\n", q, tn, fn, tn / fn, tr, fr }'
    done
    echo
    echo "Goals: Tome ≥ FTS5 on clean queries; Tome with typos ≥ 0.85 × Tome clean."
    echo
    # num <field> [json]: a number from one speed row's JSON (default: the current $row).
    num() { grep -o "\"$1\":[0-9.e+-]*" <<<"${2-$row}" | head -n1 | cut -d: -f2 || true; }
    echo "### Speed (smoke figures unless the machine was quiet)"
    echo
    echo "| articles | index in process (articles/s) | query p50 / p99 in process (ms) | bulk create over HTTP (articles/s) | query p50 / p99 over HTTP (ms) | write → searchable p50 / max (ms) |"
    echo "|---|---|---|---|---|---|"
    while read -r row; do
        n=$(num articles)
        ip=$(grep -o '"in_process":{[^}]*}' <<<"$row")
        hp=$(grep -o '"http":{[^}]*}' <<<"$row" || true)
        awk -v n="$n" -v ir="$(num index_articles_per_s "$ip")" -v i50="$(num query_p50_ms "$ip")" \
            -v i99="$(num query_p99_ms "$ip")" -v br="$(num bulk_create_articles_per_s "$hp")" \
            -v h50="$(num query_p50_ms "$hp")" -v h99="$(num query_p99_ms "$hp")" \
            -v w50="$(num write_to_searchable_p50_ms "$hp")" -v wmax="$(num write_to_searchable_max_ms "$hp")" \
            'BEGIN { printf "| %d | %.0f | %.2f / %.2f | %s | %s | %s |\n", n, ir, i50, i99,
                (br == "" ? "–" : sprintf("%.0f", br)),
                (h50 == "" ? "–" : sprintf("%.2f / %.2f", h50, h99)),
                (w50 == "" ? "–" : sprintf("%.1f / %.1f", w50, wmax)) }'
    done <"$WORK/speed.jsonl"
    echo
    echo "Goals: HTTP p99 < 5 ms at 7.4k articles and < 50 ms at 74k; HTTP p99 ≤ in-process p99 + 1 ms;"
    echo "a write searchable within 1 s (here: the next search after the create finds it)."
    if grep -q '"same_index"' "$WORK/speed.jsonl"; then
        echo
        echo "### What HTTP adds, on the same index"
        echo
        echo "A copy of the server's own index opened in process; each query timed in process, then"
        echo "over HTTP right after it (3 rounds of the same queries; HTTP timed to the last byte of the"
        echo "response, as a load generator does), then an authenticated \`GET /v1/kb/{id}\` (the"
        echo "floor: key check, KB read, JSON, no search)."
        echo
        echo "| articles | segments | in process p50 / p99 (ms) | over HTTP p50 / p99 (ms) | HTTP − in process, p50 / p99 (ms) | floor p50 / p99 (ms) | mean in process / server CPU per search / per floor request (ms) |"
        echo "|---|---|---|---|---|---|---|"
        while read -r row; do
            si=$(grep -o '"same_index":{[^}]*}' <<<"$row" || true)
            [[ -n $si ]] || continue
            awk -v n="$(num articles)" -v seg="$(num segments "$si")" \
                -v i50="$(num in_process_p50_ms "$si")" -v i99="$(num in_process_p99_ms "$si")" \
                -v h50="$(num http_p50_ms "$si")" -v h99="$(num http_p99_ms "$si")" \
                -v f50="$(num floor_p50_ms "$si")" -v f99="$(num floor_p99_ms "$si")" \
                -v im="$(num in_process_mean_ms "$si")" -v cs="$(num server_cpu_search_ms "$si")" \
                -v cf="$(num server_cpu_floor_ms "$si")" \
                'BEGIN { printf "| %d | %d | %.2f / %.2f | %.2f / %.2f | %+.2f / %+.2f | %.2f / %.2f | %.2f / %.2f / %.2f |\n",
                    n, seg, i50, i99, h50, h99, h50 - i50, h99 - i99, f50, f99, im, cs, cf }'
        done <"$WORK/speed.jsonl"
    fi
} >"$OUT"
cat "$OUT"
