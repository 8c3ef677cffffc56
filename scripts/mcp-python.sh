#!/usr/bin/env bash
# The MCP suite with the official Python SDK (PyPI `mcp`) as the client: tests/mcp/ (pytest),
# over stdio (`tome mcp`) and Streamable HTTP (`/mcp`), on both protocol revisions, against real
# `tome serve` processes — on SQLite, then on PostgreSQL.
#
# Installs tests/mcp/requirements.txt into a virtualenv (the cargo target dir's
# mcp-python-venv, reused while the requirements are unchanged) and builds the debug `tome`
# unless TOME_BIN names a binary.
#
# PostgreSQL: TOME_TEST_DATABASE_URL if set (the run gets a fresh schema there, dropped after);
# otherwise a local server if one answers (PGHOST/PGPORT/PGUSER, default postgres@127.0.0.1:5432),
# in a database created for this run and dropped after it; otherwise that pass is skipped with
# the reason. With TOME_TEST_REQUIRE_POSTGRES set (CI), a missing PostgreSQL is a failure.
#
# Env: TOME_BIN, CARGO_TARGET_DIR, MCP_PYTEST_ARGS (extra pytest arguments, e.g. "-k journey").
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
venv=$target/mcp-python-venv
requirements=tests/mcp/requirements.txt
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ ! -x $venv/bin/python || $(cat "$venv/.requirements" 2>/dev/null) != "$want" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" >"$venv/.requirements"
fi

if [[ -z ${TOME_BIN:-} ]]; then
  cargo build -p tome
  export TOME_BIN=$target/debug/tome
fi

step() { printf '\n=== %s\n' "$*"; }
results=()
status=0
# run_pass NAME [DATABASE_URL]: pytest on SQLite (no URL) or on that PostgreSQL database.
run_pass() {
  local name=$1 url=${2:-} started=$SECONDS rc
  step "MCP Python SDK suite on $name"
  set +e
  # shellcheck disable=SC2086
  TOME_MCP_DATABASE_URL=$url "$venv/bin/python" -m pytest -c tests/mcp/pytest.ini tests/mcp \
    ${MCP_PYTEST_ARGS:-} 2>&1 | tee "$work/$name.txt"
  rc=${PIPESTATUS[0]}
  set -e
  local summary
  summary=$(grep -E '^=+ .+ =+$' "$work/$name.txt" | tail -n1 | sed -E 's/^=+ (.+) =+$/\1/')
  results+=("$name: $([[ $rc -eq 0 ]] && echo PASSED || echo FAILED) in $((SECONDS - started)) s: ${summary:-no summary}")
  [[ $rc -eq 0 ]] || status=1
}

work=$(mktemp -d)
pg_cleanup=
cleanup() {
  if [[ -n $pg_cleanup ]]; then eval "$pg_cleanup" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

run_pass sqlite

# PostgreSQL: a database (or schema) of this run's own, so the first server's start bootstraps
# it and prints the admin key.
pg_url= pg_skip=
stamp="tome_mcp_$(date +%s)_$$"
if [[ -n ${TOME_TEST_DATABASE_URL:-} ]]; then
  if ! command -v psql >/dev/null 2>&1; then
    pg_skip="TOME_TEST_DATABASE_URL is set but psql (to make this run's schema) is missing"
  else
    base=$TOME_TEST_DATABASE_URL
    psql "$base" -v ON_ERROR_STOP=1 -Atqc "CREATE SCHEMA $stamp"
    pg_cleanup="psql '$base' -Atqc 'SET client_min_messages = warning; DROP SCHEMA IF EXISTS $stamp CASCADE'"
    sep='?'
    [[ $base == *\?* ]] && sep='&'
    pg_url="$base${sep}options[search_path]=$stamp"
  fi
elif command -v psql >/dev/null 2>&1; then
  host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} user=${PGUSER:-postgres}
  psql_admin() { psql -h "$host" -p "$port" -U "$user" -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"; }
  if psql_admin 'SELECT 1' >/dev/null 2>&1; then
    psql_admin "CREATE DATABASE $stamp"
    pg_cleanup="psql -h '$host' -p '$port' -U '$user' -d postgres -Atqc 'DROP DATABASE IF EXISTS $stamp WITH (FORCE)'"
    pg_url="postgres://$user@$host:$port/$stamp"
  else
    pg_skip="no PostgreSQL answers at $user@$host:$port and TOME_TEST_DATABASE_URL is not set"
  fi
else
  pg_skip="TOME_TEST_DATABASE_URL is not set and there is no psql to find a local PostgreSQL"
fi

if [[ -n $pg_url ]]; then
  # Commits need not wait for the disk: the suite checks behaviour, not PostgreSQL's durability
  # (as the Rust tests' databases, tome_store::testing).
  sep='?'
  [[ $pg_url == *\?* ]] && sep='&'
  run_pass postgres "$pg_url${sep}options[synchronous_commit]=off"
elif [[ -n ${TOME_TEST_REQUIRE_POSTGRES:-} ]]; then
  echo "error: TOME_TEST_REQUIRE_POSTGRES is set but the PostgreSQL pass cannot run: $pg_skip" >&2
  results+=("postgres: FAILED: $pg_skip")
  status=1
else
  step "Skipping the PostgreSQL pass: $pg_skip"
  results+=("postgres: SKIPPED: $pg_skip")
fi

echo
for r in "${results[@]}"; do echo "mcp-python $r"; done
exit "$status"
