#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, HTTP integration, binary end-to-end) and the
# headless-Chromium browser tests in e2e/ (which install Chromium and npm packages if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
bash e2e/run.sh
