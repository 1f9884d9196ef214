#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then vitest (unit, qemu-img comparisons,
# hostile headers, fuzzing, relabeling on real files, Playwright UI in Debian's chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
npm test
