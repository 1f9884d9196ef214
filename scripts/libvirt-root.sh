#!/usr/bin/env bash
# A Debian bookworm root with libvirtd 11.3 and qemu 10 from bookworm-backports, so the suite can
# compare diskchain with the real libvirt (test/libvirt-real). Built once and cached: a stamp file
# records the recipe, and a root with the same stamp is reused as is.
#
#   scripts/libvirt-root.sh build            build the root if missing; prints its path
#   scripts/libvirt-root.sh path             prints the root's path (exit 1 if not built)
#
# The daemon itself is started by the tests (test/libvirt-real/daemon.ts) in a private mount
# namespace, so nothing mounted for it outlives the test run.
set -euo pipefail

CACHE="${DISKCHAIN_CACHE:-/var/cache/diskchain}"
ROOT="$CACHE/libvirt-root"
# DISKCHAIN_DEBIAN_MIRROR: a local mirror or proxy, e.g. in CI.
MIRROR="${DISKCHAIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils libxml2-utils attr"
# Changing the recipe (packages, qemu.conf) changes the stamp, so an old root is rebuilt.
RECIPE="v1 bookworm backports $PACKAGES namespaces=[] cgroups=[] stdio=file security=none remember_owner=1"
STAMP="$ROOT/.diskchain-root-stamp"

log() { printf 'libvirt-root: %s\n' "$*" >&2; }

is_built() { [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$RECIPE" ]; }

# The qemu wrapper holds each guest start (-name guest=…; capability probes have none) between
# libvirt's labelling and qemu opening anything: it writes NAME.ready in the folder named by
# /etc/diskchain-handshake and waits (up to 30 s) for NAME.go, so the tests can snapshot every
# file as root (qemu runs as libvirt-qemu, which cannot read trusted.* xattrs).
write_tools() {
  local ROOT=$1 qemu="$1/usr/bin/qemu-system-x86_64" tmp
  [ -e "$qemu.real" ] || mv "$qemu" "$qemu.real"
  tmp=$(mktemp)
  cat >"$tmp" <<'EOF'
#!/bin/sh
prev=
for a in "$@"; do
  if [ "$prev" = -name ]; then
    name=${a#guest=}
    name=${name%%,*}
    dir=$(cat /etc/diskchain-handshake 2>/dev/null || true)
    if [ -n "$dir" ] && [ -d "$dir" ]; then
      : >"$dir/$name.ready"
      i=0
      while [ ! -e "$dir/$name.go" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    fi
  fi
  prev=$a
done
exec /usr/bin/qemu-system-x86_64.real "$@"
EOF
  # Rewritten only when it changed: libvirt probes qemu again whenever the binary's ctime moves.
  if cmp -s "$tmp" "$qemu"; then rm -f "$tmp"; else mv "$tmp" "$qemu" && chmod 755 "$qemu"; fi
}

# qemu.conf for a daemon without cgroups, namespaces or virtlogd. "none" rather than "dac":
# Debian's 11.3 reports "Security driver dac not found" for "dac", while "none" still runs the
# DAC relabelling (and remembers owners in trusted.libvirt.security.* xattrs).
write_qemu_conf() {
  local ROOT=$1
  cat >"$ROOT/etc/libvirt/qemu.conf" <<'EOF'
# Written by diskchain scripts/libvirt-root.sh
namespaces = []
cgroup_controllers = []
stdio_handler = "file"
security_driver = "none"
dynamic_ownership = 1
remember_owner = 1
EOF
  # Debian's compiled-in user, spelled +N so diskchain on the host (whose NSS does not know
  # libvirt-qemu) reads the same owner from this file with --qemu-conf.
  local uid gid
  uid=$(awk -F: '$1 == "libvirt-qemu" { print $3 }' "$ROOT/etc/passwd")
  gid=$(awk -F: '$1 == "libvirt-qemu" { print $3 }' "$ROOT/etc/group")
  printf 'user = "+%s"\ngroup = "+%s"\n' "$uid" "$gid" >>"$ROOT/etc/libvirt/qemu.conf"
}

build() {
  if is_built; then
    # Cheap and idempotent: keeps a cached root's configuration in step with this script.
    write_qemu_conf "$ROOT"
    write_tools "$ROOT"
    echo "$ROOT"
    return
  fi
  command -v debootstrap >/dev/null || {
    log "installing debootstrap on the host"
    apt-get install -y --no-install-recommends debootstrap >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends debootstrap >&2; }
  }
  local t0=$SECONDS
  rm -rf "$ROOT.partial"
  mkdir -p "$CACHE"
  log "debootstrap bookworm into $ROOT.partial"
  debootstrap --variant=minbase bookworm "$ROOT.partial" "$MIRROR" >&2
  local R="$ROOT.partial"
  echo "deb $MIRROR bookworm-backports main" >"$R/etc/apt/sources.list.d/backports.list"
  # No service may start inside the root while packages are installed.
  printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
  chmod 755 "$R/usr/sbin/policy-rc.d"
  # /proc for the maintainer scripts, in a private mount namespace so it cannot outlive us.
  unshare -m --propagation private sh -euc '
    mount -t proc proc "$1/proc"
    chroot "$1" apt-get update
    DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -y --no-install-recommends -t bookworm-backports $2
    chroot "$1" apt-get clean' sh "$R" "$PACKAGES" >&2
  write_qemu_conf "$R"
  write_tools "$R"
  rm -rf "$ROOT"
  mv "$R" "$ROOT"
  echo "$RECIPE" >"$STAMP"
  log "built in $((SECONDS - t0)) s"
  echo "$ROOT"
}

case "${1:-build}" in
  build) build ;;
  path) is_built && echo "$ROOT" ;;
  *)
    echo "usage: $0 [build|path]" >&2
    exit 2
    ;;
esac
