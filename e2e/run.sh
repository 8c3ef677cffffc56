#!/usr/bin/env bash
# Real-browser end-to-end tests: headless Chromium (Debian's package, driven by npm playwright-core)
# loads e2e/spa/ from other origins against a real `tome serve`. This is what CI calls.
#
# Installs what is missing (Chromium via apt-get, e2e/node_modules via `npm ci`), builds the
# server (`cargo build -p tome`) and runs `npm test` here. Without CI, a machine that cannot get
# Chromium or Node skips with the reason and exits 0; with CI set, that is a failure.
#
# Env: CHROMIUM_PATH (default /usr/bin/chromium), TOME_BIN (default: the cargo target dir's
# debug/tome), CARGO_TARGET_DIR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "false" ] && [ "${CI}" != "0" ]; }

# Cannot run here: a failure in CI, a skip (exit 0) elsewhere.
cannot_run() {
  if in_ci; then
    echo "e2e: FAILED: $*" >&2
    exit 1
  fi
  echo "e2e: SKIPPED (not in CI): $*" >&2
  exit 0
}

# --- Chromium -------------------------------------------------------------------------------------
if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$CHROMIUM_PATH" != /usr/bin/chromium ]; then
    cannot_run "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable"
  fi
  if [ "$(id -u)" != 0 ]; then
    cannot_run "$CHROMIUM_PATH is missing and installing Debian's chromium needs root"
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    cannot_run "$CHROMIUM_PATH is missing and there is no apt-get to install Debian's chromium"
  fi
  echo "e2e: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o DPkg::Lock::Timeout=300 -q)
  if ! { apt-get "${apt_opts[@]}" update &&
         apt-get "${apt_opts[@]}" install -y --no-install-recommends chromium; }; then
    cannot_run "apt-get could not install chromium"
  fi
  [ -x "$CHROMIUM_PATH" ] || cannot_run "chromium installed but $CHROMIUM_PATH is missing"
fi
"$CHROMIUM_PATH" --version 2>/dev/null || true

# --- Node and playwright-core ---------------------------------------------------------------------
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  cannot_run "node and npm are needed (Debian: apt-get install nodejs npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || cannot_run "Node $(node --version) is too old: playwright-core needs >= 20"

cd "$HERE"
# `npm ci` unless node_modules holds exactly the versions package-lock.json pins (playwright-core;
# the AI SDK parsers of the assistant test: `ai`, its `ai5`/`ai5-strict` aliases,
# `@ai-sdk/ui-utils`; the MCP tests' `@modelcontextprotocol/client`, `/sdk`, `/inspector` and
# `/conformance`). `ai@7`, the Inspector and the conformance suite declare Node >= 22 but what the
# tests use runs on 20 (the suite through e2e/conformance-node20.mjs): npm warns, and that is all.
stale="$(node -e '
  const { packages } = require("./package-lock.json");
  const bad = Object.entries(packages).find(([dir, p]) => {
    if (!dir) return false;
    try { return require(`./${dir}/package.json`).version !== p.version; } catch { return !p.optional; }
  });
  process.stdout.write(bad ? bad[0] : "");
')"
if [ -n "$stale" ]; then
  echo "e2e: npm ci ($stale is missing or another version; it downloads no browser)"
  npm ci --no-audit --no-fund
fi

# The hosted tests import ../shared/corpora/mintlify-docs with `tome import --format mintlify`;
# the docs-as-code test commits it to a repository that `git daemon` serves.
command -v git >/dev/null 2>&1 && [ -x "$(git --exec-path)/git-daemon" ] ||
  cannot_run "git with git daemon is needed for the docs-as-code test (Debian: apt-get install git)"

# --- the server -----------------------------------------------------------------------------------
cd "$ROOT"
cargo build -p tome
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
export TOME_BIN="${TOME_BIN:-$target/debug/tome}"

# --- the tests ------------------------------------------------------------------------------------
cd "$HERE"
npm test
