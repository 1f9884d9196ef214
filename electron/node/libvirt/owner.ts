// Owners as libvirt reads them: user and group names or ids (virGetUserID, virGetGroupID,
// virParseOwnershipIds), and the VM's user and group when none is given (qemu.conf, else the
// distribution's usual accounts).
import { idNumber, isIdName } from '../../../shared/rules.js';
import { lookupGroup, lookupUser } from '../native/libc.js';
import { DEFAULT_QEMU_CONF, confString, readQemuConf } from './qemu-conf.js';

/**
 * libvirt's virGetUserID: `+N` is always the number N; otherwise a user name first, then a
 * number. Throws when it is neither, or not of the form shared/rules.ts allows.
 */
export function parseUser(user: string): number {
  if (!isIdName(user)) throw new Error(`Failed to parse user '${user}'`);
  const u = user.startsWith('+') ? null : lookupUser(user);
  if (u) return u.uid;
  const n = idNumber(user);
  if (n === null) throw new Error(`Failed to parse user '${user}': no such user`);
  return n;
}

/** libvirt's virGetGroupID, same rules as parseUser. */
export function parseGroup(group: string): number {
  if (!isIdName(group)) throw new Error(`Failed to parse group '${group}'`);
  const g = group.startsWith('+') ? null : lookupGroup(group);
  if (g !== null) return g;
  const n = idNumber(group);
  if (n === null) throw new Error(`Failed to parse group '${group}': no such group`);
  return n;
}

/** libvirt's virParseOwnershipIds: `user:group` (each a name or `+N`), as in remembered dac labels. */
export function parseOwnership(label: string): { uid: number; gid: number } {
  const colon = label.indexOf(':');
  if (colon < 0) throw new Error(`Failed to parse ownership '${label}'`);
  return { uid: parseUser(label.slice(0, colon)), gid: parseGroup(label.slice(colon + 1)) };
}

/** qemu.conf's string setting `key` (libvirt's virConf syntax); null when absent, unreadable or malformed. */
function qemuConf(key: string): string | null {
  try {
    const { conf } = readQemuConf(process.env.DISKCHAIN_QEMU_CONF ?? DEFAULT_QEMU_CONF);
    return confString(conf, key)?.value ?? null;
  } catch {
    return null;
  }
}

/**
 * The VM's user and group when none is given: qemu.conf's, else the distribution's usual
 * (libvirt-qemu:kvm on Debian, qemu:qemu on Fedora). Null when none of them exists here.
 */
export function defaultOwner(): { user: string; group: string } | null {
  const user = qemuConf('user') ?? ['libvirt-qemu', 'qemu'].find((u) => lookupUser(u) !== null) ?? null;
  if (!user) return null;
  let group = qemuConf('group') ?? ['kvm', 'qemu'].find((g) => lookupGroup(g) !== null) ?? null;
  if (!group) {
    const u = lookupUser(user);
    if (u) group = `+${u.gid}`;
  }
  return group ? { user, group } : null;
}
