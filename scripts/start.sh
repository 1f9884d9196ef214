#!/usr/bin/env bash
# Sets up and starts the app: Electron where its runtime is installed, else the same UI served
# to a browser (`diskchain serve`). Arguments are image paths to open.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
npm start -- "$@"
