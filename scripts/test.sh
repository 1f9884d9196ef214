#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then vitest (unit, qemu-img comparisons,
# hostile headers, fuzzing, relabeling on real files, Playwright UI in Debian's chromium).
# Lint (boundaries, cycles) and typecheck (one project per environment) come first and fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
npm run lint
npm run format:check
npm run typecheck
npm test
