#!/usr/bin/env bash
# Tome hosted help-centre benchmark: the cached article page of the largest article of the
# Mintlify corpus over HTTP from tome, next to nginx serving the very same HTML bytes as a static
# file in the same run; then the uncached page (first read after a write) and the Markdown render
# time of that article alone. See bench/README.md, section "Hosted pages".
#
# Usage (from the repository root):  bench/hosted.sh
# Settings (environment):
#   BENCH_TOME                 a tome binary to measure instead of this checkout's (A/B comparisons; still built)
#   BENCH_DURATION=10          seconds per measured wrk run
#   BENCH_ROUNDS=3             rounds per case, tome and nginx alternating (figures: all rounds together)
#   BENCH_WARMUP=3             seconds of wrk warm-up before each measured run (not counted)
#   BENCH_THREADS=1            wrk threads
#   BENCH_CONNECTIONS=16       wrk connections
#   BENCH_NGINX_WORKERS=auto   nginx worker_processes
#   BENCH_UNCACHED=200         iterations of write-then-read for the uncached page
#   BENCH_RENDER=500           iterations of the Markdown-only render timing
#   BENCH_THEME=docs           theme of the imported KB
#   BENCH_FAST_PATH="on off"   tome's --http-fast-path modes measured, a row per case and mode (tome
#                              restarted on the same data between modes)
#   BENCH_CORPUS=../shared/corpora/mintlify-docs
#   BENCH_TMPDIR=$TMPDIR       where the throw-away database and nginx root go
# Writes bench/results/hosted-latest.md (git-ignored) and raw outputs in bench/results/hosted/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-3}
THREADS=${BENCH_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-auto}
read -r -a FAST_PATHS <<<"${BENCH_FAST_PATH:-on off}"
for fp in "${FAST_PATHS[@]}"; do
    [[ $fp == on || $fp == off ]] || { echo "error: BENCH_FAST_PATH takes on and/or off, not '$fp'" >&2; exit 1; }
done
UNCACHED=${BENCH_UNCACHED:-200}
RENDER=${BENCH_RENDER:-500}
THEME=${BENCH_THEME:-docs}
CORPUS=${BENCH_CORPUS:-$ROOT/../shared/corpora/mintlify-docs}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=$ROOT/bench/results
# Goals (from the issue): cached req/s ≥ 0.9× nginx, CPU per request ≤ 1.2× nginx, uncached
# render p99 < 10 ms.
GOAL_RPS=0.9
GOAL_CPU=1.2
GOAL_RENDER_MS=10

bench_require wrk nginx curl jq cargo python3 awk sed sort getconf cmp gzip || exit 1
[[ -r $CORPUS/docs.json ]] || { echo "error: corpus $CORPUS not found (set BENCH_CORPUS)" >&2; exit 1; }
NGINX=$(command -v nginx)

echo "==> building release tome and the render timer (minutes on a first build)"
cargo build --release --quiet -p tome --bin tome -p tome-render --example render_time
TOME=${BENCH_TOME:-$TARGET_DIR/release/tome} # BENCH_TOME: measure another build (A/B)
RENDER_TIME=$TARGET_DIR/release/examples/render_time

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-hosted-bench.XXXXXX")
OUT=$RESULTS/hosted
rm -rf "$OUT"
mkdir -p "$OUT"
SERVER_PID=
NGINX_PID=
cleanup() {
    stop_pid "$SERVER_PID"
    stop_pid "$NGINX_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

BUSY_BEFORE=$(busy_percent)
if ((BUSY_BEFORE > 10)); then
    echo "warning: the CPUs were ${BUSY_BEFORE}% busy before the run; other work will skew the figures." >&2
fi

echo "==> starting tome serve"
TOME_ARGS=(--admin-rate-limit 1000000000 --hosted-rate-limit 1000000000)
start_tome "$TOME" "$WORK/data" "$WORK/tome" "${TOME_ARGS[@]}" --http-fast-path "${FAST_PATHS[0]}" || exit 1
echo "    listening on $BASE"

echo "==> importing $(basename "$CORPUS") (theme $THEME)"
PROJECT=$(curl -sS -H "Authorization: Bearer $KEY" "$BASE/v1/project" | jq -r .data.id)
# The import always uses this tree's build (an A/B build under BENCH_TOME may predate it).
"$TARGET_DIR/release/tome" import --project "$PROJECT" --from "$CORPUS" --format mintlify --slug mintlify \
    --data-dir "$WORK/data" --json >"$OUT/import.json" 2>"$OUT/import.txt"
cat "$OUT/import.txt"
KB=$(jq -r .knowledge_base.id "$OUT/import.json")
jq -c .counts "$OUT/import.json"
curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"is_public\": true, \"theme\": \"$THEME\"}" "$BASE/v1/kb/$KB"
[[ $KB == kb_* ]] || { echo "error: import failed" >&2; exit 1; }

# The largest article: every article's body length through the API.
read -r LARGE LARGE_BYTES LARGE_TITLE < <(python3 - "$BASE" "$KEY" "$KB" <<'EOF'
import json, sys, urllib.request
base, key, kb = sys.argv[1:]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + key})
    return json.load(urllib.request.urlopen(req))
ids, cursor = [], None
while True:
    page = get(f"/v1/kb/{kb}/articles?limit=100" + (f"&cursor={cursor}" if cursor else ""))
    ids += [a["id"] for a in page["data"]]
    if not page["pagination"]["has_more"]:
        break
    cursor = page["pagination"]["next_cursor"]
best = max((get(f"/v1/kb/{kb}/articles/{i}")["data"] for i in ids), key=lambda a: len(a["body"]))
print(best["id"], len(best["body"].encode()), best["title"])
EOF
)
curl -sS -H "Authorization: Bearer $KEY" "$BASE/v1/kb/$KB/articles/$LARGE" | jq -r .data.body >"$WORK/large.md"
echo "    largest article: $LARGE \"$LARGE_TITLE\" ($LARGE_BYTES bytes of Markdown)"
PAGE=/hc/mintlify/articles/$LARGE

# ------------------------------------------------------------------------------------ nginx
echo "==> writing tome's cached page as a static file for nginx"
WWW=$WORK/www
chmod 755 "$WORK"
mkdir -p "$WWW$(dirname "$PAGE")"
code=$(curl -sS -o "$WWW$PAGE" -w '%{http_code}' "$BASE$PAGE")
[[ $code == 200 ]] || { echo "error: GET $PAGE: HTTP $code" >&2; exit 1; }
curl -sS -o "$WWW$PAGE.gz" -H 'Accept-Encoding: gzip' -D "$WORK/h" "$BASE$PAGE"
grep -qi '^content-encoding: gzip' "$WORK/h" || { echo "error: no gzip page from tome" >&2; exit 1; }
gzip -dc "$WWW$PAGE.gz" | cmp -s - "$WWW$PAGE" || { echo "error: gzip page differs" >&2; exit 1; }

free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
mkdir -p "$WORK/nginx/tmp"
NGINX_CONF=$WORK/nginx/nginx.conf
PORT=$(free_port)
cat >"$NGINX_CONF" <<EOF
daemon off;
worker_processes $NGINX_WORKERS;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    types { }
    default_type "text/html; charset=utf-8";
    etag on;
    gzip off;
    gzip_static on;
    gzip_vary on;
    open_file_cache max=64 inactive=60s;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $WWW;
        location / { }
    }
}
EOF
"$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$NGINX_CONF" >"$WORK/nginx/stdout" 2>&1 &
NGINX_PID=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
NGINX_BASE=http://127.0.0.1:$PORT
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true); }
for enc in identity gzip; do
    args=()
    [[ $enc == gzip ]] && args=(-H 'Accept-Encoding: gzip')
    curl -sS -o "$WORK/t" "${args[@]}" "$BASE$PAGE"
    curl -sS -o "$WORK/n" "${args[@]}" "$NGINX_BASE$PAGE"
    cmp -s "$WORK/t" "$WORK/n" || { echo "error: tome and nginx bodies differ ($enc)" >&2; exit 1; }
done
BODY_BYTES=$(wc -c <"$WWW$PAGE")
GZIP_BYTES=$(wc -c <"$WWW$PAGE.gz")

# ------------------------------------------------------------------------------ cached runs
# Each case runs in ROUNDS rounds, tome and nginx alternating (and which goes first alternating
# too), so a drift in the machine's speed during the run falls on both. A case's figures are
# those of all its rounds together: requests ÷ time, CPU ticks ÷ requests, and the median of
# the rounds' percentiles; the range of the per-round ratios is shown beside them.
declare -A REQS TICKS RPS P50 P99 CPU RATIOS
run_wrk() { # run_wrk <case> <target> <gzip 0|1> <round>
    local case=$1 target=$2 gzip=$3 round=$4 base pids out
    if [[ $target == tome ]]; then base=$BASE; pids=$SERVER_PID; else base=$NGINX_BASE; pids=$(nginx_pids); fi
    out=$OUT/wrk-$case-$target-$round.txt
    export BENCH_PATH=$PAGE BENCH_GZIP=$gzip
    local cmd=(wrk -t"$THREADS" -c"$CONNECTIONS" --latency -s "$ROOT/bench/hosted.lua")
    ((WARMUP > 0)) && "${cmd[@]}" -d"${WARMUP}s" "$base" >"$out.warmup" 2>&1
    local before after
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids)
    "${cmd[@]}" -d"${DURATION}s" "$base" >"$out" 2>&1
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids)
    local errs
    errs=$(wrk_errors "$out")
    [[ $errs == 0 ]] || { echo "error: $errs failed requests ($case, $target)" >&2; cat "$out" >&2; exit 1; }
    local k=$case:$target:$round reqs
    reqs=$(wrk_reqs "$out")
    REQS[$k]=$reqs
    TICKS[$k]=$((after - before))
    RPS[$k]=$(wrk_rps "$out")
    P50[$k]=$(wrk_pct "$out" 50%)
    P99[$k]=$(wrk_pct "$out" 99%)
    CPU[$k]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    printf '    %-13s %-5s round %d  %7s req/s  p50 %6s ms  p99 %6s ms  server CPU %6s µs/req\n' \
        "$case" "$target" "$round" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "${CPU[$k]}"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# combine <case> <target>: the case's figures over all rounds, into RPS/CPU/P50/P99[case:target].
combine() {
    local case=$1 target=$2 r reqs=0 ticks=0 p50s="" p99s=""
    for ((r = 1; r <= ROUNDS; r++)); do
        reqs=$((reqs + ${REQS[$case:$target:$r]}))
        ticks=$((ticks + ${TICKS[$case:$target:$r]}))
        p50s+=" ${P50[$case:$target:$r]}"
        p99s+=" ${P99[$case:$target:$r]}"
    done
    local k=$case:$target
    RPS[$k]=$(awk -v n="$reqs" -v s=$((DURATION * ROUNDS)) 'BEGIN { printf "%.0f", n / s }')
    CPU[$k]=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    P50[$k]=$(median <<<"$p50s")
    P99[$k]=$(median <<<"$p99s")
}
# Each fast-path mode in turn (BENCH_FAST_PATH): tome restarted on the same data with
# --http-fast-path MODE (its caches refill in the warm-up); the rows of mode "off" are keyed
# CASE@off.
ROWS=()
for fp in "${FAST_PATHS[@]}"; do
    if [[ $fp != "${FAST_PATHS[0]}" ]]; then
        ADMIN_KEY=$KEY # printed at the first start only
        stop_pid "$SERVER_PID"
        KEY_OPTIONAL=1 start_tome "$TOME" "$WORK/data" "$WORK/tome-$fp" "${TOME_ARGS[@]}" --http-fast-path "$fp" || exit 1
        KEY=$ADMIN_KEY
        code=$(curl -sS -o /dev/null -w '%{http_code}' "$BASE$PAGE")
        [[ $code == 200 ]] || { echo "error: GET $PAGE with --http-fast-path $fp: HTTP $code" >&2; exit 1; }
    fi
    suffix=
    [[ $fp == off ]] && suffix=@off
    echo "==> cached article page, --http-fast-path $fp: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (each after ${WARMUP}s warm-up)"
    for c in article article-gzip; do
        row=$c$suffix
        ROWS+=("$row")
        g=0
        [[ $c == *-gzip ]] && g=1
        for ((round = 1; round <= ROUNDS; round++)); do
            if ((round % 2)); then order=(tome nginx); else order=(nginx tome); fi
            for target in "${order[@]}"; do run_wrk "$row" "$target" "$g" "$round"; done
        done
        combine "$row" tome
        combine "$row" nginx
        for ((round = 1; round <= ROUNDS; round++)); do
            x=$(awk -v a="${RPS[$row:tome:$round]}" -v b="${RPS[$row:nginx:$round]}" 'BEGIN { printf "%.2f", a / b }')
            y=$(awk -v a="${CPU[$row:tome:$round]}" -v b="${CPU[$row:nginx:$round]}" 'BEGIN { printf "%.2f", a / b }')
            RATIOS[$row]+="${RATIOS[$row]:+, }$x× / $y×"
        done
    done
done

# ---------------------------------------------------------------------------- uncached reads
# Each iteration: a management write to the KB (every write bumps the KB's generation), then the
# first page read (uncached: published tree, article, template, ETag, gzip) and a second one
# (cached), on one keep-alive connection, timed by curl. Two kinds of write: the article's title
# (its Markdown HTML then comes from the render cache, keyed by the body) and its body (the
# Markdown is rendered again: the full cost).
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((p / 100) * NR + 0.9999); if (r < 1) r = 1; printf "%.3f", v[r] * 1000 }'; }
declare -A U50 U99 C50 C99
jq -Rs . <"$WORK/large.md" >"$WORK/large.json"
uncached_loop() { # uncached_loop <case>
    local case=$1 raw=$OUT/uncached-$1.txt i body
    : >"$raw"
    for i in $(seq "$UNCACHED"); do
        if [[ $case == title ]]; then
            body=$(jq -nc --arg t "$LARGE_TITLE ($i)" '{title: $t}')
        else
            # The same Markdown with a different last line: a real edit of the body.
            body=$(jq -c --arg i "$i" '{body: (. + "\n\nRevision " + $i + ".\n")}' "$WORK/large.json")
        fi
        curl -sS -o /dev/null -w 'write %{http_code} %{time_total}\n' -X PUT \
            -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
            --data-binary "$body" "$BASE/v1/kb/$KB/articles/$LARGE" \
            --next -sS -o /dev/null -w 'first %{http_code} %{time_total}\n' -H 'Accept-Encoding: gzip' "$BASE$PAGE" \
            --next -sS -o /dev/null -w 'second %{http_code} %{time_total}\n' -H 'Accept-Encoding: gzip' "$BASE$PAGE" >>"$raw"
    done
    if awk '$2 != 200 { bad = 1 } END { exit !bad }' "$raw"; then
        echo "error: a request failed in the uncached loop ($case)" >&2
        exit 1
    fi
    for kind in first second; do awk -v k=$kind '$1 == k { print $3 }' "$raw" >"$raw.$kind"; done
    U50[$case]=$(pct "$raw.first" 50)
    U99[$case]=$(pct "$raw.first" 99)
    C50[$case]=$(pct "$raw.second" 50)
    C99[$case]=$(pct "$raw.second" 99)
    echo "    after a $case edit: first read p50 ${U50[$case]} ms, p99 ${U99[$case]} ms; next (cached) read p50 ${C50[$case]} / p99 ${C99[$case]} ms"
}
if [[ ${FAST_PATHS[-1]} != on ]]; then
    # The uncached figures are the default mode's, as before.
    ADMIN_KEY=$KEY
    stop_pid "$SERVER_PID"
    KEY_OPTIONAL=1 start_tome "$TOME" "$WORK/data" "$WORK/tome-uncached" "${TOME_ARGS[@]}" || exit 1
    KEY=$ADMIN_KEY
fi
echo "==> uncached page: $UNCACHED × (PUT, first read, second read), for title and body edits"
uncached_loop title
uncached_loop body

echo "==> Markdown render alone: $RENDER × render($LARGE_BYTES bytes)"
"$RENDER_TIME" "$WORK/large.md" "$RENDER" | tee "$OUT/render.txt"
R50=$(awk '{ for (i = 1; i < NF; i++) if ($i == "p50_ms") print $(i + 1) }' "$OUT/render.txt")
R99=$(awk '{ for (i = 1; i < NF; i++) if ($i == "p99_ms") print $(i + 1) }' "$OUT/render.txt")

# ------------------------------------------------------------------------------------ report
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "**not met**") }'; }
{
    echo "# Tome hosted-page benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Commit $(bench_rev); $("$TOME" --version 2>/dev/null || echo tome); nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'); $ROUNDS rounds per case of wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s after ${WARMUP}s warm-up, tome and nginx alternating"
    echo "- $(nproc) CPUs ($(cpu_model)), shared by wrk, tome and nginx; CPUs ${BUSY_BEFORE}% busy before the run"
    echo "- Page: \`$PAGE\` (theme $THEME), the largest article of $(basename "$CORPUS"): \"$LARGE_TITLE\", $LARGE_BYTES bytes of Markdown;"
    echo "  HTML $BODY_BYTES bytes (gzip $GZIP_BYTES), identical from both servers"
    echo
    echo "## Cached article page"
    echo
    echo "All rounds together; p50 / p99 are the median of the rounds'. Per-round ratios (req/s / CPU): the last column."
    echo
    echo "| case | tome req/s | nginx req/s | ratio (goal ≥ $GOAL_RPS) | tome / nginx CPU µs/req | CPU ratio (goal ≤ $GOAL_CPU) | tome p50 / p99 ms | nginx p50 / p99 ms | per round |"
    echo "|---|---:|---:|---|---:|---|---:|---:|---|"
    for c in "${ROWS[@]}"; do
        r=$(ratio "${RPS[$c:tome]}" "${RPS[$c:nginx]}")
        cr=$(ratio "${CPU[$c:tome]}" "${CPU[$c:nginx]}")
        echo "| $c | ${RPS[$c:tome]} | ${RPS[$c:nginx]} | $r: $(verdict "$(awk -v x="$r" -v g=$GOAL_RPS 'BEGIN { print (x >= g) }')") |" \
            "${CPU[$c:tome]} / ${CPU[$c:nginx]} | $cr: $(verdict "$(awk -v x="$cr" -v g=$GOAL_CPU 'BEGIN { print (x <= g) }')") |" \
            "${P50[$c:tome]} / ${P99[$c:tome]} | ${P50[$c:nginx]} / ${P99[$c:nginx]} | ${RATIOS[$c]} |"
    done
    echo
    echo "Rows \"CASE@off\": tome with \`--http-fast-path off\` (hyper parses every connection); the others: on (the default)."
    for c in article article-gzip; do
        if [[ -n ${RPS[$c@off:tome]:-} && -n ${RPS[$c:tome]:-} ]]; then
            echo "- $c: fast path off ÷ on: req/s $(ratio "${RPS[$c@off:tome]}" "${RPS[$c:tome]}")×, server CPU per request $(ratio "${CPU[$c@off:tome]}" "${CPU[$c:tome]}")×"
        fi
    done
    echo
    echo "## Uncached page and render time"
    echo
    echo "| measure | p50 ms | p99 ms |"
    echo "|---|---:|---:|"
    echo "| first page read after a title edit (HTTP, gzip; tree + article + template + gzip; Markdown HTML from the render cache) | ${U50[title]} | ${U99[title]} |"
    echo "| first page read after a body edit (the same plus the Markdown render) | ${U50[body]} | ${U99[body]} |"
    echo "| next read (cached) | ${C50[body]} | ${C99[body]} |"
    echo "| Markdown render alone (\`tome_render::render\`, $RENDER runs; goal p99 < $GOAL_RENDER_MS) | $R50 | $R99: $(verdict "$(awk -v x="$R99" -v g=$GOAL_RENDER_MS 'BEGIN { print (x < g) }')") |"
} >"$RESULTS/hosted-latest.md"
echo
cat "$RESULTS/hosted-latest.md"
echo
echo "(written to ${RESULTS#"$ROOT"/}/hosted-latest.md; raw outputs in ${OUT#"$ROOT"/}/)"
