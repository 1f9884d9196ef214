// Facts about this host the relabel form starts from: is SELinux on, which user and group
// qemu runs as (qemu.conf, else the distribution's usual account).
import * as fs from 'node:fs';

export function selinuxEnabled(): boolean {
  try {
    return fs.existsSync('/sys/fs/selinux/enforce');
  } catch {
    return false;
  }
}

function names(file: string): Set<string> {
  try {
    return new Set(
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.split(':')[0]!)
        .filter(Boolean),
    );
  } catch {
    return new Set();
  }
}

/** `user = "qemu"` / `group = "qemu"` from qemu.conf, if set. */
export function qemuConfAccount(text: string): { user?: string; group?: string } {
  const out: { user?: string; group?: string } = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(user|group)\s*=\s*"([^"]*)"\s*(#.*)?$/.exec(line);
    if (m && m[2]) out[m[1] as 'user' | 'group'] = m[2];
  }
  return out;
}

let cached: { user: string; group: string } | null = null;

/** The DAC account qemu runs as on this host. */
export function defaultAccount(): { user: string; group: string } {
  if (cached) return cached;
  let conf: { user?: string; group?: string } = {};
  try {
    conf = qemuConfAccount(fs.readFileSync('/etc/libvirt/qemu.conf', 'utf8'));
  } catch {
    // No libvirt here.
  }
  const users = names('/etc/passwd');
  const groups = names('/etc/group');
  let user = '+107';
  let group = '+107';
  if (users.has('qemu')) {
    user = 'qemu';
    group = groups.has('qemu') ? 'qemu' : group;
  } else if (users.has('libvirt-qemu')) {
    user = 'libvirt-qemu';
    group = groups.has('kvm') ? 'kvm' : group;
  }
  cached = { user: conf.user ?? user, group: conf.group ?? group };
  return cached;
}
