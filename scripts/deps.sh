#!/usr/bin/env bash
# Installs what diskchain needs and is missing: Debian packages (qemu-utils makes and checks
# images, chromium runs the UI tests, attr/acl for inspecting xattrs by hand, dbus, polkitd and
# pkexec for the privileged helper and its tests, strace to see what the helper opens, sshd and
# sudo for the remote-host tests) and the npm
# packages. Safe to run again: it only installs what is not there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(qemu-utils chromium attr acl python3 dbus polkitd pkexec strace openssh-server sudo)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "diskchain: installing Debian packages: ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# The Electron runtime is a download from outside the npm registry; skip it where it cannot be
# fetched (npm start then serves the same UI to a browser instead).
export ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
