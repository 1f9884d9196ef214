#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then vitest (unit, qemu-img comparisons,
# hostile headers, fuzzing, relabeling on real files, Playwright UI in Debian's chromium).
# Lint (boundaries, cycles) and typecheck (one project per environment) come first and fail it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# qemu-img 10 beside the system's 7.2, for the parity tests (they skip with one line without it).
bash scripts/fetch-qemu10.sh >/dev/null || echo "diskchain: could not fetch qemu-img 10; its comparisons will skip"
# libvirtd 11.3 + qemu 10 in a cached bookworm root (root only), for test/libvirt-real.
if [ "$(id -u)" = 0 ]; then
  bash scripts/libvirt-root.sh build >/dev/null || echo "diskchain: could not build the libvirt root; test/libvirt-real will skip"
fi
npm run lint
npm run format:check
npm run typecheck
npm test
