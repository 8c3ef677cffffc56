#!/usr/bin/env bash
# Tome public-API benchmark: cached `structure` and `articles/{id}` over HTTP from tome, next to
# nginx serving the very same response bytes as static files in the same run; then the first
# read after a write (uncached). See bench/README.md, section "Public API".
#
# Usage (from the repository root):  bench/public.sh
# Settings (environment):
#   BENCH_DURATION=10          seconds per measured wrk run
#   BENCH_WARMUP=3             seconds of wrk warm-up before each measured run (not counted)
#   BENCH_ROUNDS=3             rounds per cached case, tome and nginx alternating (figures: all rounds together)
#   BENCH_THREADS=1            wrk threads
#   BENCH_CONNECTIONS=16       wrk connections
#   BENCH_CLIENTS=16384        distinct X-Forwarded-For addresses wrk cycles through
#   BENCH_NGINX_WORKERS=auto   nginx worker_processes (auto = one per server CPU, like tome's threads)
#   BENCH_PIN=1                wrk on CPU 0, tome and nginx on the other CPUs (0: all share all CPUs)
#   BENCH_ARTICLES=48          small articles to import (plus one large one)
#   BENCH_LARGE_BYTES=16000    Markdown body size of the large article, at least
#   BENCH_UNCACHED=200         iterations of write-then-read per uncached case
#   BENCH_UNCACHED_WARMUP=20   iterations before those, not counted
#   BENCH_CORPUS=../shared/corpora/tldr/pages-en.jsonl   JSON lines: path, category, title, excerpt, body
#   BENCH_TMPDIR=$TMPDIR       where the throw-away database and nginx root go
#   CARGO_TARGET_DIR           as usual for cargo (default: ./target)
#   BENCH_TOME                 a tome binary to measure instead of this checkout's (A/B comparisons; still built)
#   BENCH_HOLD=1               set up both servers, print their addresses and keys, and wait (for profiling)
#   BENCH_FAST_PATH="on off"   tome's --http-fast-path modes measured, a row per case and mode (tome
#                              restarted on the same data between modes; BENCH_HOLD uses the first)
#   TOME_LOG                   tome's log filter, as usual (e.g. info,tower_http=debug for per-request latency)
# Writes bench/results/public-latest.md (git-ignored) and the raw outputs in bench/results/public/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
export BENCH_CLIENTS=${BENCH_CLIENTS:-16384}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-auto}
PIN=${BENCH_PIN:-1}
read -r -a FAST_PATHS <<<"${BENCH_FAST_PATH:-on off}"
for fp in "${FAST_PATHS[@]}"; do
    [[ $fp == on || $fp == off ]] || { echo "error: BENCH_FAST_PATH takes on and/or off, not '$fp'" >&2; exit 1; }
done
N_ARTICLES=${BENCH_ARTICLES:-48}
LARGE_BYTES=${BENCH_LARGE_BYTES:-16000}
UNCACHED=${BENCH_UNCACHED:-200}
UNCACHED_WARMUP=${BENCH_UNCACHED_WARMUP:-20}
CORPUS=${BENCH_CORPUS:-$ROOT/../shared/corpora/tldr/pages-en.jsonl}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RESULTS=$ROOT/bench/results
# Goals (from the issue): cached req/s ≥ 1.0× nginx, CPU per request ≤ 1.2× nginx, uncached p99 < 5 ms.
GOAL_RPS=1.0
GOAL_CPU=1.2
GOAL_UNCACHED_MS=5

# Nothing is installed silently: say what is missing and stop.
bench_require wrk nginx curl jq cargo awk sed grep sort getconf cmp || exit 1
[[ -r $CORPUS ]] || { echo "error: corpus $CORPUS not found (set BENCH_CORPUS)" >&2; exit 1; }
NGINX=$(command -v nginx)
# Need gzip_static for the compressed comparison.
if ! "$NGINX" -V 2>&1 | grep -q -- --with-http_gzip_static_module; then
    echo "error: $NGINX lacks the gzip_static module (Debian/Ubuntu: apt-get install -y nginx)" >&2
    exit 1
fi

echo "==> building release tome (minutes on a first build)"
cargo build --release --quiet -p tome --bin tome
TOME=${BENCH_TOME:-$TARGET_DIR/release/tome} # BENCH_TOME: measure another build (A/B)

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/tome-public-bench.XXXXXX")
if [[ -n ${BENCH_HOLD:-} ]]; then
    OUT=$WORK/results # leave the last run's results alone
else
    OUT=$RESULTS/public
    rm -rf "$OUT"
fi
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

# Pinning: the load generator gets CPU 0 and each server the others, as if wrk ran on a machine of
# its own. Unpinned, wrk and the server under test take turns on the same cores, and where the
# scheduler puts whom moved single rounds by ±25% for either server. Each server sizes its
# workers to the CPUs it may use: tome's threads follow its affinity; nginx's "auto" is set here.
NCPU=$(getconf _NPROCESSORS_ONLN)
LOAD_PIN=()
SERVER_NCPU=$NCPU
if [[ $PIN == 1 ]] && ((NCPU >= 2)) && command -v taskset >/dev/null; then
    export SERVER_CPUS=1-$((NCPU - 1))
    PINNED_CPUS=$SERVER_CPUS
    LOAD_PIN=(taskset -c 0)
    SERVER_NCPU=$((NCPU - 1))
    [[ $NGINX_WORKERS == auto ]] && NGINX_WORKERS=$SERVER_NCPU
elif [[ $PIN == 1 ]]; then
    echo "warning: not pinning (needs 2+ CPUs and taskset); wrk and the servers share the CPUs." >&2
    PIN=0
fi

# ------------------------------------------------------------------------------------- tome
echo "==> starting tome serve (data in $WORK/data, --trusted-proxies 127.0.0.1)"
TOME_ARGS=(--admin-rate-limit 1000000000 --trusted-proxies 127.0.0.1)
start_tome "$TOME" "$WORK/data" "$WORK/tome" "${TOME_ARGS[@]}" --http-fast-path "${FAST_PATHS[0]}" || exit 1
echo "    listening on $BASE"

# api <method> <path> [json] : the response body; stops the script on a non-2xx answer.
api() {
    local out
    out=$(curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$BASE$2") || {
        echo "error: $1 $2 failed: $out" >&2
        exit 1
    }
    printf '%s' "$out"
}
new_id() { api POST "$@" | jq -r .data.id; }

echo "==> creating a KB from $(basename "$CORPUS")"
kb_json=$(api POST /v1/kb '{"title":"Command-line help","slug":"cli-help","description":"Short, practical pages for common commands."}')
KB=$(jq -r .data.id <<<"$kb_json")
SITE_KEY=$(jq -r .data.site_key <<<"$kb_json")
SLUG=$(jq -r .data.slug <<<"$kb_json")
[[ $KB == kb_* && -n $SITE_KEY && $SITE_KEY != null ]] || { echo "error: unexpected KB response: $kb_json" >&2; exit 1; }
# The highest per-client limit a site key allows (1000/min); see public.lua for how wrk stays under it.
api PUT "/v1/kb/$KB/site-key" '{"rate_limit":1000}' >/dev/null

# Four categories of the corpus, two sections each (commands A–M, N–Z); every fourth article sits
# at category level. All published.
CATEGORIES=(linux osx windows android)
per_category=$(((N_ARTICLES + ${#CATEGORIES[@]} - 1) / ${#CATEGORIES[@]}))
SMALL_IDS=()
order=0
for cat in "${CATEGORIES[@]}"; do
    order=$((order + 1))
    cat_id=$(new_id "/v1/kb/$KB/categories" "$(jq -nc --arg n "$cat" --argjson o "$order" \
        '{name: ($n | if . == "osx" then "macOS" else (.[0:1] | ascii_upcase) + .[1:] end),
          description: ("Commands for " + $n + "."), icon: $n, sort_order: $o}')")
    sec_am=$(new_id "/v1/kb/$KB/sections" "$(jq -nc --arg c "$cat_id" '{category_id: $c, name: "Commands A–M", sort_order: 1}')")
    sec_nz=$(new_id "/v1/kb/$KB/sections" "$(jq -nc --arg c "$cat_id" '{category_id: $c, name: "Commands N–Z", sort_order: 2}')")
    i=0
    while IFS= read -r page; do
        i=$((i + 1))
        title=$(jq -r .title <<<"$page")
        if ((i % 4 == 0)); then
            section=null
        elif [[ ${title:0:1} < n ]]; then
            section="\"$sec_am\""
        else
            section="\"$sec_nz\""
        fi
        body=$(jq -c --arg c "$cat_id" --argjson s "$section" --arg cat "$cat" \
            '{category_id: $c, section_id: $s, title: .title, excerpt: .excerpt, body: .body,
              status: "published", tags: ["tldr", $cat]}' <<<"$page")
        SMALL_IDS+=("$(new_id "/v1/kb/$KB/articles" "$body")")
    done < <(jq -c --arg cat "$cat" 'select(.category == $cat and (.excerpt // "" | length) <= 500)' "$CORPUS" |
        head -n "$per_category")
    if [[ $cat == linux ]]; then LARGE_CATEGORY=$cat_id; fi
done
for id in "${SMALL_IDS[@]}"; do
    [[ $id == kba_* ]] || { echo "error: an article import failed" >&2; exit 1; }
done

# The large article: git pages of the corpus joined into one guide, at least LARGE_BYTES of Markdown.
large_body=$WORK/large.md
{
    echo "# Git from the command line"
    echo
    echo "Everyday Git commands, one section per command, with the options you will actually use."
    jq -r 'select(.path | startswith("pages/common/git")) | .body' "$CORPUS" |
        sed 's/^# /## /' |
        awk -v max="$LARGE_BYTES" '/^## / && n >= max { done = 1 } !done { print; n += length($0) + 1 }'
} >"$large_body"
LARGE=$(new_id "/v1/kb/$KB/articles" "$(jq -nc --arg c "$LARGE_CATEGORY" --rawfile b "$large_body" \
    --arg r1 "${SMALL_IDS[0]}" --arg r2 "${SMALL_IDS[1]}" --arg r3 "${SMALL_IDS[2]}" \
    '{category_id: $c, title: "Git from the command line",
      excerpt: "Everyday Git commands with the options you will actually use.",
      body: $b, status: "published", tags: ["tldr", "git", "guide"], related_articles: [$r1, $r2, $r3]}')")
echo "    KB $KB (/$SLUG): ${#CATEGORIES[@]} categories, $((2 * ${#CATEGORIES[@]})) sections," \
    "${#SMALL_IDS[@]} articles + 1 large ($(wc -c <"$large_body") bytes of Markdown)"

STRUCTURE_PATH=/v1/kb/public/$SLUG/structure
ARTICLE_PATH=/v1/kb/public/$SLUG/articles/$LARGE

# public_get <base> <path> <out file> [curl args...] : the raw response bytes (never decoded),
# with the same request headers wrk sends; prints "status header_bytes body_bytes".
public_get() {
    local base=$1 path=$2 out=$3
    shift 3
    curl -sS -o "$out" -w '%{http_code} %{size_header} %{size_download}\n' \
        -H "X-Minolith-Site-Key: $SITE_KEY" -H "X-Forwarded-For: 10.255.255.254" "$@" "$base$path"
}

# ------------------------------------------------------------------------------------ nginx
# The same bytes tome serves, as static files at the same paths.
echo "==> writing tome's cached responses as static files for nginx"
WWW=$WORK/www
# Run as root, nginx's workers drop to an unprivileged user (nobody, or www-data): they must be able
# to read the files (mktemp -d makes a private directory).
chmod 755 "$WORK"
for path in "$STRUCTURE_PATH" "$ARTICLE_PATH"; do
    mkdir -p "$WWW$(dirname "$path")"
    read -r code _ _ < <(public_get "$BASE" "$path" "$WWW$path")
    [[ $code == 200 ]] || { echo "error: GET $path: HTTP $code: $(cat "$WWW$path")" >&2; exit 1; }
    read -r code _ _ < <(public_get "$BASE" "$path" "$WWW$path.gz" -H 'Accept-Encoding: gzip' -D "$WORK/h")
    [[ $code == 200 ]] && grep -qi '^content-encoding: gzip' "$WORK/h" || {
        echo "error: GET $path with Accept-Encoding: gzip did not return gzip" >&2
        exit 1
    }
    gzip -dc "$WWW$path.gz" | cmp -s - "$WWW$path" || { echo "error: gzip body of $path differs" >&2; exit 1; }
done

free_port() { # a TCP port nobody listens on (nginx cannot bind port 0 and report it)
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
mkdir -p "$WORK/nginx/tmp"
NGINX_CONF=$WORK/nginx/nginx.conf
start_nginx() {
    local port=$1
    cat >"$NGINX_CONF" <<EOF
# Private config for bench/public.sh: static files, no logging, keep-alive without a request cap.
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
    default_type application/json;
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
        listen 127.0.0.1:$port;
        root $WWW;
        location / { }
    }
}
EOF
    (on_server_cpus "$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$NGINX_CONF") \
        >"$WORK/nginx/stdout" 2>&1 &
    NGINX_PID=$!
    for _ in $(seq 50); do
        kill -0 "$NGINX_PID" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
echo "==> starting nginx $("$NGINX" -v 2>&1 | sed 's|.*/||') (worker_processes $NGINX_WORKERS)"
NGINX_BASE=
for _ in 1 2 3 4 5; do
    port=$(free_port) || break
    if start_nginx "$port"; then
        NGINX_BASE=http://127.0.0.1:$port
        break
    fi
    stop_pid "$NGINX_PID"
    NGINX_PID=
done
if [[ -z $NGINX_BASE ]]; then
    echo "error: nginx did not start:" >&2
    cat "$WORK/nginx/error.log" "$WORK/nginx/stdout" >&2 2>/dev/null || true
    exit 1
fi
echo "    listening on $NGINX_BASE (master pid $NGINX_PID)"
nginx_pids() { echo "$NGINX_PID" $(pgrep -P "$NGINX_PID" || true); }

# Both servers must answer with identical bodies, compressed and not.
declare -A HDR BODY
for path in "$STRUCTURE_PATH" "$ARTICLE_PATH"; do
    [[ $path == "$STRUCTURE_PATH" ]] && name=structure || name=article
    for enc in identity gzip; do
        for target in tome nginx; do
            [[ $target == tome ]] && base=$BASE || base=$NGINX_BASE
            args=()
            [[ $enc == gzip ]] && args=(-H 'Accept-Encoding: gzip')
            read -r code hb bb < <(public_get "$base" "$path" "$WORK/check-$target" "${args[@]}" \
                -D "$OUT/headers-$name-$enc-$target.txt")
            [[ $code == 200 ]] || { echo "error: $target GET $path ($enc): HTTP $code" >&2; exit 1; }
            HDR[$target:$path:$enc]=$hb
            BODY[$target:$path:$enc]=$bb
        done
        cmp -s "$WORK/check-tome" "$WORK/check-nginx" ||
            { echo "error: tome and nginx bodies differ for $path ($enc)" >&2; exit 1; }
    done
done

if [[ -n ${BENCH_HOLD:-} ]]; then # for profiling by hand: keep both servers up, print how to reach them
    cat <<EOF
==> BENCH_HOLD: both servers stay up until this script is interrupted (Ctrl-C).
    tome  pid $SERVER_PID  $BASE   admin key $KEY   KB $KB
    nginx pid $NGINX_PID  $NGINX_BASE
    site key $SITE_KEY
    structure $STRUCTURE_PATH
    article   $ARTICLE_PATH   (small article IDs: ${SMALL_IDS[*]:0:4} …)
    e.g.  BENCH_PATH=$STRUCTURE_PATH TOME_SITE_KEY=$SITE_KEY ${LOAD_PIN[*]} wrk -t$THREADS -c$CONNECTIONS -d10s --latency -s bench/public.lua $BASE
EOF
    while kill -0 "$SERVER_PID" 2>/dev/null; do sleep 1; done
    exit 0
fi

# ------------------------------------------------------------------------------- cached runs

declare -A RPS P50 P99 CPU WRKCPU REQS OTHER TICKS WRKS
system_ticks() { # busy CPU time of the whole machine (user nice system irq softirq steal), in ticks
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
# run_wrk <case> <target> <path> <gzip 0|1> [round] : warm-up, then a measured run; fills the
# arrays under <case>:<target>:<round>.
run_wrk() {
    local case=$1 target=$2 path=$3 gzip=$4 round=${5:-1} base pids out status=0
    if [[ $target == tome ]]; then base=$BASE; pids=$SERVER_PID; else base=$NGINX_BASE; pids=$(nginx_pids); fi
    out=$OUT/wrk-$case-$target-$round.txt
    export BENCH_PATH=$path BENCH_GZIP=$gzip TOME_SITE_KEY=$SITE_KEY
    local cmd=("${LOAD_PIN[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" --latency -s "$ROOT/bench/public.lua")
    if ((WARMUP > 0)); then
        "${cmd[@]}" -d"${WARMUP}s" "$base" >"$out.warmup" 2>&1 || true
    fi
    local before after sys_before sys_after
    # shellcheck disable=SC2086
    before=$(cpu_ticks $pids)
    sys_before=$(system_ticks)
    # `times` in the subshell reports wrk's own CPU (children user and system).
    (
        "${cmd[@]}" -d"${DURATION}s" "$base" >"$out" 2>"$out.err"
        s=$?
        times >"$out.times"
        exit $s
    ) || status=$?
    # shellcheck disable=SC2086
    after=$(cpu_ticks $pids)
    sys_after=$(system_ticks)
    if [[ $status != 0 || -s $out.err ]]; then
        echo "error: wrk failed (exit status $status):" >&2
        sort -u "$out.err" >&2
        exit 1
    fi
    local errs
    errs=$(wrk_errors "$out")
    if [[ $errs != 0 ]]; then
        echo "error: $errs failed requests ($case, $target):" >&2
        cat "$out" >&2
        exit 1
    fi
    local k=$case:$target:$round reqs
    reqs=$(wrk_reqs "$out")
    REQS[$k]=$reqs
    TICKS[$k]=$((after - before))
    RPS[$k]=$(wrk_rps "$out")
    P50[$k]=$(wrk_pct "$out" 50%)
    P99[$k]=$(wrk_pct "$out" 99%)
    CPU[$k]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    local wrk_s
    wrk_s=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/);
            printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$out.times")
    WRKS[$k]=$wrk_s
    WRKCPU[$k]=$(awk -v w="$wrk_s" -v n="$reqs" 'BEGIN { printf "%.1f", w * 1e6 / n }')
    # CPU used by anything else (other processes, interrupts) while wrk ran, in % of all CPUs.
    OTHER[$k]=$(awk -v d=$((sys_after - sys_before)) -v srv=$((after - before)) -v w="$wrk_s" \
        -v hz="$CLK_TCK" -v dur="$DURATION" -v ncpu="$(nproc)" \
        'BEGIN { o = (d - srv) / hz - w; if (o < 0) o = 0; printf "%.0f", 100 * o / (dur * ncpu) }')
    printf '    %-15s %-5s round %d  %7s req/s  p50 %6s ms  p99 %6s ms  server CPU %5s µs/req  (wrk %s µs/req; other CPU %s%%)\n' \
        "$case" "$target" "$round" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "${CPU[$k]}" "${WRKCPU[$k]}" "${OTHER[$k]}"
    if ((OTHER[$k] > 5)); then
        echo "warning: other work used ${OTHER[$k]}% of the CPUs during this run; its figures are skewed." >&2
    fi
}

CASES=(structure structure-gzip article article-gzip)
case_path() { [[ $1 == structure* ]] && echo "$STRUCTURE_PATH" || echo "$ARTICLE_PATH"; }
case_gzip() { [[ $1 == *-gzip ]] && echo 1 || echo 0; }
# combine <case> <target>: the case's figures over all its rounds, under <case>:<target> —
# requests ÷ time, CPU ticks ÷ requests, the median of the rounds' percentiles, the most
# "other CPU" of any round.
combine() {
    local k=$1:$2 r reqs=0 ticks=0 wrk=0 other=0
    local p50s=() p99s=()
    for ((r = 1; r <= ROUNDS; r++)); do
        reqs=$((reqs + REQS[$k:$r]))
        ticks=$((ticks + TICKS[$k:$r]))
        wrk=$(awk -v a="$wrk" -v b="${WRKS[$k:$r]}" 'BEGIN { print a + b }')
        ((OTHER[$k:$r] > other)) && other=${OTHER[$k:$r]}
        p50s+=("${P50[$k:$r]}")
        p99s+=("${P99[$k:$r]}")
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
    REQS[$k]=$reqs
    RPS[$k]=$(awk -v n="$reqs" -v s=$((DURATION * ROUNDS)) 'BEGIN { printf "%.0f", n / s }')
    CPU[$k]=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
    WRKCPU[$k]=$(awk -v w="$wrk" -v n="$reqs" 'BEGIN { printf "%.1f", w * 1e6 / n }')
    OTHER[$k]=$other
    P50[$k]=$(median "${p50s[@]}")
    P99[$k]=$(median "${p99s[@]}")
}

# Each case runs in ROUNDS rounds, tome and nginx alternating (and which goes first alternating
# too), so a drift in the machine's speed during the run weighs on both alike.
# Each fast-path mode in turn (BENCH_FAST_PATH): tome restarted on the same data with
# --http-fast-path MODE (its caches refill in the warm-up); the rows of mode "off" are keyed
# CASE@off.
declare -A ROUND_RATIOS
ROWS=()
for fp in "${FAST_PATHS[@]}"; do
    if [[ $fp != "${FAST_PATHS[0]}" ]]; then
        ADMIN_KEY=$KEY # printed at the first start only
        stop_pid "$SERVER_PID"
        KEY_OPTIONAL=1 start_tome "$TOME" "$WORK/data" "$WORK/tome-$fp" "${TOME_ARGS[@]}" --http-fast-path "$fp" || exit 1
        KEY=$ADMIN_KEY
        code=$(public_get "$BASE" "$STRUCTURE_PATH" /dev/null | cut -d' ' -f1)
        [[ $code == 200 ]] || { echo "error: GET $STRUCTURE_PATH with --http-fast-path $fp: HTTP $code" >&2; exit 1; }
    fi
    suffix=
    [[ $fp == off ]] && suffix=@off
    echo "==> cached responses, --http-fast-path $fp: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (after ${WARMUP}s warm-up), same script for both"
    for c in "${CASES[@]}"; do
        row=$c$suffix
        ROWS+=("$row")
        for ((round = 1; round <= ROUNDS; round++)); do
            if ((round % 2)); then order=(tome nginx); else order=(nginx tome); fi
            for target in "${order[@]}"; do
                run_wrk "$row" "$target" "$(case_path "$c")" "$(case_gzip "$c")" "$round"
            done
            ROUND_RATIOS[$row]+="${ROUND_RATIOS[$row]:+, }$(awk -v a="${RPS[$row:tome:$round]}" -v b="${RPS[$row:nginx:$round]}" \
                -v x="${CPU[$row:tome:$round]}" -v y="${CPU[$row:nginx:$round]}" 'BEGIN { printf "%.2f× / %.2f×", a / b, x / y }')"
        done
        combine "$row" tome
        combine "$row" nginx
    done
    # Reference: tome's floor for this stack — same layers, no gate, no cache, a 2-byte body.
    run_wrk "healthz$suffix" tome /healthz 0
    RPS[healthz$suffix:tome]=${RPS[healthz$suffix:tome:1]}
    P50[healthz$suffix:tome]=${P50[healthz$suffix:tome:1]}
    P99[healthz$suffix:tome]=${P99[healthz$suffix:tome:1]}
    CPU[healthz$suffix:tome]=${CPU[healthz$suffix:tome:1]}
done

# ----------------------------------------------------------------------------- uncached reads
# Each iteration: one management write to the KB (PUT an article's title; the cache is invalidated
# before its response), then the first public read (uncached: render, hash, gzip) and a second
# one (cached), all on one keep-alive connection in one curl process, timed by curl.
declare -A U50 U99 UMAX R50 RMAX C50 C99 W50
pct() { # pct <file> <percent> : nearest-rank percentile of the numbers in file, in ms
    sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((p / 100) * NR + 0.9999); if (r < 1) r = 1;
        printf "%.3f", v[r] * 1000 }'
}
uncached_loop() { # uncached_loop <case> <article to write> <public path>
    local case=$1 id=$2 path=$3 raw=$OUT/uncached-$1.txt i
    : >"$raw.all"
    for i in $(seq $((UNCACHED_WARMUP + UNCACHED))); do
        "${LOAD_PIN[@]}" curl -sS -o /dev/null -w 'write %{http_code} %{time_total} %{num_connects}\n' -X PUT \
            -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
            --data-binary "{\"title\":\"Edited title $i\"}" "$BASE/v1/kb/$KB/articles/$id" \
            --next -sS -o /dev/null -w 'first %{http_code} %{time_total} %{num_connects}\n' \
            -H "X-Minolith-Site-Key: $SITE_KEY" -H "X-Forwarded-For: 10.254.$((i / 256)).$((i % 256))" \
            -H 'Accept-Encoding: gzip' "$BASE$path" \
            --next -sS -o /dev/null -w 'second %{http_code} %{time_total} %{num_connects}\n' \
            -H "X-Minolith-Site-Key: $SITE_KEY" -H "X-Forwarded-For: 10.254.$((i / 256)).$((i % 256))" \
            -H 'Accept-Encoding: gzip' "$BASE$path" >>"$raw.all"
    done
    # Three lines per iteration; the warm-up's are dropped (the phase may start on a fresh process).
    tail -n +$((3 * UNCACHED_WARMUP + 1)) "$raw.all" >"$raw"
    head -n $((3 * UNCACHED_WARMUP)) "$raw.all" | awk '$1 == "first" { print $3 }' >"$raw.restart"
    if awk '$2 != 200 { bad = 1 } END { exit !bad }' "$raw"; then
        echo "error: a request failed in the uncached loop ($case):" >&2
        grep -v ' 200 ' "$raw" | head >&2
        exit 1
    fi
    local reused
    reused=$(awk '$1 != "write" && $4 == 0 { n++ } END { print n + 0 }' "$raw")
    for kind in write first second; do awk -v k=$kind '$1 == k { print $3 }' "$raw" >"$raw.$kind"; done
    U50[$case]=$(pct "$raw.first" 50)
    U99[$case]=$(pct "$raw.first" 99)
    UMAX[$case]=$(pct "$raw.first" 100)
    R50[$case]=$(pct "$raw.restart" 50)
    RMAX[$case]=$(pct "$raw.restart" 100)
    C50[$case]=$(pct "$raw.second" 50)
    C99[$case]=$(pct "$raw.second" 99)
    W50[$case]=$(pct "$raw.write" 50)
    printf '    %-10s first read p50 %s ms, p99 %s ms; next (cached) read p50 %s / p99 %s ms; write p50 %s ms (%s/%s reads on a reused connection)\n' \
        "$case" "${U50[$case]}" "${U99[$case]}" "${C50[$case]}" "${C99[$case]}" "${W50[$case]}" \
        "$reused" $((2 * UNCACHED))
}
# A latency measurement of one client at a time, not a throughput one: tome gets all CPUs back, as
# in production (restarted on the same data, so it sizes its threads to them), and curl is not
# pinned. On one pinned core the background index work of each write shared the read's core.
# Restarted in any case, so the structure case's uncounted iterations are the first requests of a
# new process: they are reported on their own ("right after a restart").
ADMIN_KEY=$KEY # printed at the first start only
stop_pid "$SERVER_PID"
unset SERVER_CPUS
LOAD_PIN=()
KEY_OPTIONAL=1 start_tome "$TOME" "$WORK/data" "$WORK/tome-uncached" "${TOME_ARGS[@]}" || exit 1
KEY=$ADMIN_KEY
echo "==> uncached: $UNCACHED_WARMUP (not counted) + $UNCACHED × (PUT article title, first public read, second public read)"
# structure: edit a small article (its title is in the tree); article: edit the article read.
uncached_loop structure "${SMALL_IDS[3]}" "$STRUCTURE_PATH"
uncached_loop article "$LARGE" "$ARTICLE_PATH"

# ----------------------------------------------------------------------------------- report
TOME_VERSION=$("$TOME" --version 2>/dev/null || echo tome)
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's|.*/||')
WRK_VERSION=$({ wrk --version 2>&1 || true; } | awk 'NR == 1 { print $2 }') # exits 1 after printing
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "met" : "**not met**") }'; }
cp "$NGINX_CONF" "$OUT/nginx.conf"
{
    echo "# Tome public-API benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Commit $(bench_rev); $TOME_VERSION; nginx $NGINX_VERSION (worker_processes $NGINX_WORKERS); wrk $WRK_VERSION"
    if [[ $PIN == 1 ]]; then
        echo "- $NCPU CPUs ($(cpu_model)): wrk and curl pinned to CPU 0, tome and nginx to CPUs $PINNED_CPUS (BENCH_PIN); CPUs ${BUSY_BEFORE}% busy in the second before the run"
    else
        echo "- $NCPU CPUs ($(cpu_model)), shared by wrk, tome and nginx (BENCH_PIN=0); CPUs ${BUSY_BEFORE}% busy in the second before the run"
    fi
    echo "- $ROUNDS rounds per case of wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency after a ${WARMUP}s warm-up, tome and nginx alternating; bench/public.lua for both servers;" \
        "X-Forwarded-For cycles through $BENCH_CLIENTS addresses (tome: --trusted-proxies 127.0.0.1, site key rate_limit 1000/min per address)"
    echo "- KB: ${#CATEGORIES[@]} categories, $((2 * ${#CATEGORIES[@]})) sections, $((${#SMALL_IDS[@]} + 1)) published articles from $(basename "$CORPUS");" \
        "article = the large one ($(wc -c <"$large_body") bytes of Markdown)"
    echo "- Response body bytes (identical on both servers): structure ${BODY[tome:$STRUCTURE_PATH:identity]} (gzip ${BODY[tome:$STRUCTURE_PATH:gzip]})," \
        "article ${BODY[tome:$ARTICLE_PATH:identity]} (gzip ${BODY[tome:$ARTICLE_PATH:gzip]});" \
        "response header bytes (structure, uncompressed): tome ${HDR[tome:$STRUCTURE_PATH:identity]}, nginx ${HDR[nginx:$STRUCTURE_PATH:identity]}"
    echo
    echo "## Cached responses"
    echo
    echo "All rounds together; p50 / p99 are the median of the rounds'; per-round ratios (req/s / CPU) in the last column."
    echo
    echo "| case | tome req/s | nginx req/s | tome ÷ nginx (goal ≥ $GOAL_RPS) | tome / nginx CPU µs/req | CPU ratio (goal ≤ $GOAL_CPU) | tome p50 / p99 ms | nginx p50 / p99 ms | wrk CPU µs/req tome / nginx | other CPU % tome / nginx | per round |"
    echo "|---|---:|---:|---|---:|---|---:|---:|---:|---:|---|"
    for c in "${ROWS[@]}"; do
        r=$(ratio "${RPS[$c:tome]}" "${RPS[$c:nginx]}")
        cr=$(ratio "${CPU[$c:tome]}" "${CPU[$c:nginx]}")
        echo "| $c | ${RPS[$c:tome]} | ${RPS[$c:nginx]} | $r: $(verdict "$(awk -v x="$r" -v g=$GOAL_RPS 'BEGIN { print (x >= g) }')") |" \
            "${CPU[$c:tome]} / ${CPU[$c:nginx]} | $cr: $(verdict "$(awk -v x="$cr" -v g=$GOAL_CPU 'BEGIN { print (x <= g) }')") |" \
            "${P50[$c:tome]} / ${P99[$c:tome]} | ${P50[$c:nginx]} / ${P99[$c:nginx]} | ${WRKCPU[$c:tome]} / ${WRKCPU[$c:nginx]} |" \
            "${OTHER[$c:tome]} / ${OTHER[$c:nginx]} | ${ROUND_RATIOS[$c]} |"
    done
    echo
    echo "Rows \"CASE@off\": tome with \`--http-fast-path off\` (hyper parses every connection); the others: on (the default)."
    for c in "${CASES[@]}"; do
        if [[ -n ${RPS[$c@off:tome]:-} && -n ${RPS[$c:tome]:-} ]]; then
            echo "- $c: fast path off ÷ on: req/s $(ratio "${RPS[$c@off:tome]}" "${RPS[$c:tome]}")×, server CPU per request $(ratio "${CPU[$c@off:tome]}" "${CPU[$c:tome]}")×"
        fi
    done
    echo
    echo "Reference, same settings: tome \`GET /healthz\` (same middleware stack, no gate or cache, 2-byte body):"
    for fp in "${FAST_PATHS[@]}"; do
        h=healthz
        [[ $fp == off ]] && h=healthz@off
        echo "- fast path $fp: ${RPS[$h:tome]} req/s, p50 / p99 ${P50[$h:tome]} / ${P99[$h:tome]} ms, server CPU ${CPU[$h:tome]} µs/req."
    done
    echo
    echo "Server CPU: utime + stime from /proc (tome: the process; nginx: master + workers) over the"
    echo "measured run ÷ requests. \"Other CPU\": busy time of the whole machine minus server and wrk, in % of"
    echo "all CPUs (interrupt and softirq time included); above ~5% the row is skewed by other work."
    echo "\"-gzip\" cases send \`Accept-Encoding: gzip\`: tome serves its cached gzip body, nginx the same"
    echo "bytes pre-compressed via \`gzip_static\`."
    echo
    echo "## First read after a write (uncached)"
    echo
    echo "$UNCACHED iterations per case (after $UNCACHED_WARMUP not counted), each: \`PUT /v1/kb/:kb/articles/:id\` (new title), then two public"
    echo "reads with \`Accept-Encoding: gzip\`, one curl process, one keep-alive connection; curl's time_total."
    echo "Unpinned: tome restarted on the same data with all $NCPU CPUs, curl free to run anywhere."
    echo
    echo "| case | first read p50 ms | first read p99 ms (goal < $GOAL_UNCACHED_MS) | first read max ms | next read (cached) p50 / p99 ms | write p50 ms |"
    echo "|---|---:|---|---:|---:|---:|"
    for c in structure article; do
        echo "| $c | ${U50[$c]} | ${U99[$c]}: $(verdict "$(awk -v x="${U99[$c]}" -v g=$GOAL_UNCACHED_MS 'BEGIN { print (x < g) }')") |" \
            "${UMAX[$c]} | ${C50[$c]} / ${C99[$c]} | ${W50[$c]} |"
    done
    if ((UNCACHED_WARMUP > 0)); then
        echo
        echo "Right after the restart (the structure case's $UNCACHED_WARMUP uncounted iterations, the new process's first"
        echo "requests): first read p50 ${R50[structure]} ms, max ${RMAX[structure]} ms."
    fi
} >"$RESULTS/public-latest.md"

echo
cat "$RESULTS/public-latest.md"
echo
echo "(written to ${RESULTS#"$ROOT"/}/public-latest.md; raw outputs in ${OUT#"$ROOT"/}/)"
