#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, HTTP integration, binary end-to-end) twice — on
# SQLite, then on PostgreSQL — then schemathesis against the OpenAPI document of a running server
# (scripts/schemathesis.sh, which installs it from PyPI), the MCP suite with the official Python SDK
# (scripts/mcp-python.sh, from PyPI too), and the headless-Chromium browser and Node tests in e2e/
# (which install Chromium and npm packages if missing).
#
# PostgreSQL: TOME_TEST_DATABASE_URL if set (each test makes and drops its own schema there);
# otherwise a local server if one answers (PGHOST/PGPORT/PGUSER, default postgres@127.0.0.1:5432),
# in a database created for this run and dropped after it; otherwise that pass is skipped with the
# reason. With TOME_TEST_REQUIRE_POSTGRES set (CI), a missing PostgreSQL is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

# Compile once; both passes run the same test binaries.
cargo test --workspace --no-run

step "Rust tests on SQLite"
env -u TOME_TEST_DATABASE_URL -u TOME_TEST_REQUIRE_POSTGRES cargo test --workspace

pg_url=${TOME_TEST_DATABASE_URL:-}
if [[ -z $pg_url ]] && command -v psql >/dev/null 2>&1; then
  host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} user=${PGUSER:-postgres}
  psql_admin() { psql -h "$host" -p "$port" -U "$user" -d postgres -v ON_ERROR_STOP=1 -Atqc "$1"; }
  if psql_admin 'SELECT 1' >/dev/null 2>&1; then
    db="tome_test_run_$(date +%s)_$$"
    psql_admin "CREATE DATABASE $db"
    trap 'psql_admin "DROP DATABASE IF EXISTS '"$db"' WITH (FORCE)" || true' EXIT
    pg_url="postgres://$user@$host:$port/$db"
  fi
fi

if [[ -n $pg_url ]]; then
  step "Rust tests on PostgreSQL ($(sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"${pg_url%%\?*}"))"
  # These tests mostly wait on the database, not the CPU: run more at once than there are cores.
  started=$SECONDS
  TOME_TEST_DATABASE_URL=$pg_url RUST_TEST_THREADS=${RUST_TEST_THREADS:-8} cargo test --workspace
  echo "PostgreSQL pass: $((SECONDS - started)) s"
elif [[ -n ${TOME_TEST_REQUIRE_POSTGRES:-} ]]; then
  echo "error: TOME_TEST_REQUIRE_POSTGRES is set but no PostgreSQL is configured or reachable" >&2
  exit 1
else
  step "Skipping the PostgreSQL pass: TOME_TEST_DATABASE_URL is not set and no PostgreSQL answers"
fi

step "OpenAPI document against a running server (schemathesis)"
bash scripts/schemathesis.sh

step "MCP with the official Python SDK, over stdio and Streamable HTTP (SQLite, PostgreSQL)"
TOME_TEST_DATABASE_URL=$pg_url bash scripts/mcp-python.sh

bash e2e/run.sh
