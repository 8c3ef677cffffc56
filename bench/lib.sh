# Helpers shared by bench/run.sh and bench/public.sh. Source it; it defines functions only
# (plus CLK_TCK) and changes no shell options.

CLK_TCK=$(getconf CLK_TCK)

# bench_require <tool>... : prints what is missing and how to install it; returns 1 if anything is.
bench_require() {
    local tool missing=()
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    ((${#missing[@]} == 0)) && return 0
    for tool in "${missing[@]}"; do
        echo "error: '$tool' is required but not installed." >&2
    done
    local pkgs=()
    for tool in "${missing[@]}"; do
        case $tool in
        wrk | nginx | jq | curl | gawk) pkgs+=("$tool") ;;
        esac
    done
    if ((${#pkgs[@]} > 0)); then
        echo "  Install with:  sudo apt-get install -y ${pkgs[*]}   (macOS: brew install ${pkgs[*]})" >&2
    fi
    return 1
}

# How busy the machine is (percent of all CPUs over one second).
busy_percent() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2];
        printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}

# cpu_ticks <pid>... : utime + stime summed over the processes, in clock ticks (fields 14 and 15
# of /proc/PID/stat; the command name in field 2 may contain spaces, hence the sub()).
cpu_ticks() {
    local pid total=0 t
    for pid in "$@"; do
        t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")
        total=$((total + t))
    done
    echo "$total"
}

# to_ms <wrk duration> : 850.00us, 1.23ms, 1.05s, 1.00m -> milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
        else { sub(/s$/, "", v); printf "%.3f", v * 1000 } }'
}

# Figures from a wrk --latency output file.
wrk_rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$1"; }
wrk_pct() { to_ms "$(awk -v p="$2" '$1 == p { print $2 }' "$1")"; } # wrk_pct <file> 99%
wrk_reqs() { awk '/requests in/ { print $1 }' "$1"; }
wrk_errors() { # non-2xx/3xx responses plus socket errors
    local errs sock
    errs=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1")
    sock=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$1")
    echo $((${errs:-0} + ${sock:-0}))
}

# on_server_cpus <command...> : runs the command in place of the calling (sub)shell, on the CPUs
# in SERVER_CPUS (a taskset CPU list, e.g. "1") when that is set — so a server started this way
# also sizes its thread pools to them; see BENCH_PIN in bench/public.sh. Start a server with
# `(on_server_cpus cmd ...) &`: $! is then the server's own PID.
on_server_cpus() {
    if [[ -n ${SERVER_CPUS:-} ]]; then
        exec taskset -c "$SERVER_CPUS" "$@"
    fi
    exec "$@"
}

# start_tome <tome binary> <data dir> <log prefix> [serve args...]
# Starts `tome serve` on a free loopback port; sets SERVER_PID, BASE (http://ADDR) and KEY (the
# admin key printed on first start). The log prefix gets .out (stdout) and .err (JSON log).
start_tome() {
    local bin=$1 data=$2 log=$3
    shift 3
    (on_server_cpus "$bin" serve --listen 127.0.0.1:0 --data-dir "$data" --log-format json "$@") \
        >"$log.out" 2>"$log.err" &
    SERVER_PID=$!
    local addr=
    for _ in $(seq 100); do
        addr=$(grep -o '"addr":"[^"]*"' "$log.err" 2>/dev/null | head -n1 | cut -d'"' -f4 || true)
        [[ -n $addr ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $addr ]]; then
        echo "error: the server did not start:" >&2
        cat "$log.err" >&2
        return 1
    fi
    BASE=http://$addr
    KEY=$(grep -oE 'tome_[0-9A-Za-z]{38}' "$log.out" | head -n1 || true)
    [[ -n $KEY || -n ${KEY_OPTIONAL:-} ]] || { echo "error: no admin key in the server's output" >&2; return 1; }
}

# stop_pid <pid> : SIGTERM one process we started and wait for it.
stop_pid() {
    if [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}

# The commit measured, noting uncommitted changes to what gets measured (not bench/ or examples).
bench_rev() {
    local rev
    rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ -n $(git status --porcelain -- crates Cargo.toml Cargo.lock \
        ':!crates/tome-store/examples' 2>/dev/null) ]]; then
        rev="$rev with uncommitted changes"
    fi
    echo "$rev"
}

cpu_model() { awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown; }
