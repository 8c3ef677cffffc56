#!/usr/bin/env bash
# Checks the OpenAPI document against the running server with schemathesis: every request the
# document allows must be accepted, every request it forbids rejected, and every response (status,
# headers, body) must be one the document describes.
#
# Installs schemathesis from PyPI into a virtualenv (the cargo target dir's schemathesis-venv, reused), builds the
# debug `tome`, starts `tome serve` on a temporary data dir and a free loopback port, and runs
# `schemathesis run --checks all` with the printed admin key. Exits non-zero on any failure.
#
# Environment: SCHEMATHESIS_MAX_EXAMPLES (default 25 per operation and phase), SCHEMATHESIS_SEED
# (default: random, printed by schemathesis so a failure can be replayed), SCHEMATHESIS_ARGS
# (extra arguments, e.g. "--include-path-regex /faqs").
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$PWD/$target ;; esac
venv=$target/schemathesis-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build -p tome
tome=$target/debug/tome

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# Rate limits high enough that the run never trips them (429 is documented all the same).
"$tome" serve --data-dir "$work/data" --listen "127.0.0.1:$port" \
  --admin-rate-limit 1000000 --assistant-rate-limit 1000000 --hosted-rate-limit 1000000 \
  --log-format json >"$work/stdout" 2>"$work/stderr" &
server_pid=$!

for _ in $(seq 1 300); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "tome serve exited early:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  sleep 0.1
done
admin_key=$(grep -oE 'tome_[A-Za-z0-9_]+' "$work/stdout" | head -n1 || true)
if [[ -z $admin_key ]]; then
  echo "could not find the admin key in tome's output:" >&2
  cat "$work/stdout" >&2
  exit 1
fi

# A public knowledge base with some published content, so the public API (site key + slug) is
# exercised past its gate: its slug is pinned for every `{slug}` path parameter.
api() {
  curl -fsS -X "$1" -H "Authorization: Bearer $admin_key" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$base$2"
}
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["'"$1"'"])'; }
kb_json=$(api POST /v1/kb '{"title": "Schemathesis", "slug": "schemathesis", "is_public": true}')
kb_id=$(json_field id <<<"$kb_json")
site_key=$(json_field site_key <<<"$kb_json")
category_id=$(api POST "/v1/kb/$kb_id/categories" '{"name": "Start"}' | json_field id)
api POST "/v1/kb/$kb_id/articles" \
  '{"category_id": "'"$category_id"'", "title": "Reset your password", "body": "Click **Forgot password**.", "status": "published"}' >/dev/null
api POST "/v1/kb/$kb_id/faqs" \
  '{"category_id": "'"$category_id"'", "question": "Where is my data?", "answer": "In your database.", "status": "published"}' >/dev/null
project_id=$(curl -fsS -H "Authorization: Bearer $admin_key" "$base/v1/project" | json_field id)
cat >"$work/schemathesis.toml" <<TOML
[parameters]
"path.slug" = "schemathesis"
"path.projectId" = "$project_id"
TOML

started=$SECONDS
set +e
# The hooks replace `positive_data_acceptance` with a copy that knows the rejections that depend on
# the server's data rather than on the request's shape (scripts/schemathesis_hooks.py).
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks
# Run from the temporary directory: schemathesis keeps files (.schemathesis/) where it runs.
cd "$work"
# shellcheck disable=SC2086
"$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$base/v1/openapi.json" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --header "Authorization: Bearer $admin_key" \
  --header "X-Minolith-Site-Key: $site_key" \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
  ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
  --workers 1 \
  --request-timeout 10 \
  --suppress-health-check all \
  --generation-database none \
  --no-color \
  ${SCHEMATHESIS_ARGS:-} 2>&1 | tee "$work/report.txt"
status=${PIPESTATUS[0]}
set -e

if grep -qE '"level":"ERROR"|panicked' "$work/stderr"; then
  echo "the server logged errors during the run:" >&2
  grep -E '"level":"ERROR"|panicked' "$work/stderr" | head -n 20 >&2
  [[ $status -ne 0 ]] || status=1
fi
summary=$(grep -E '^=+ .+ =+$' "$work/report.txt" | tail -n1 | sed -E 's/^=+ (.+) =+$/\1/')
echo "schemathesis: $([[ $status -eq 0 ]] && echo PASSED || echo FAILED) (exit $status) in $((SECONDS - started)) s: ${summary:-no summary}"
exit "$status"
