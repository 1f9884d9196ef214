#!/bin/sh
# Unpack qemu-img 10 from Debian's bookworm-backports next to the system's 7.2, for the qemu
# parity tests. Idempotent; prints the path of the qemu-img binary.
set -eu

dest="${DISKCHAIN_CACHE:-/var/cache/diskchain}/qemu-10"
bin="$dest/usr/bin/qemu-img"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

line='deb http://deb.debian.org/debian bookworm-backports main'
list=/etc/apt/sources.list.d/backports.list
if ! grep -qxF "$line" "$list" 2>/dev/null; then
  echo "$line" >>"$list"
fi
# The index is fetched only when apt does not know the backport yet. `apt-cache show pkg/release`
# exits 0 for a release it does not know (it shows the default version), so ask madison.
if ! apt-cache madison qemu-utils 2>/dev/null | grep -q 'bookworm-backports'; then
  apt-get update -qq >&2
fi

work=$(mktemp -d)
chmod 755 "$work" # apt downloads as _apt
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq qemu-utils/bookworm-backports >&2)
mkdir -p "$dest"
dpkg -x "$work"/qemu-utils_*.deb "$dest"
"$bin" --version >/dev/null
echo "$bin"
