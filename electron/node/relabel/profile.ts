// The VM profile: owner ids as libvirt parses them, the image label with libvirt's random
// categories, and the checks a profile must pass before anything is planned with it.
import { randomInt } from 'node:crypto';
import { DEFAULT_IMAGE_LABEL_BASE, type Driver, type VmProfile } from '../../../shared/plan.js';
import { idNumber, isContext, isIdName } from '../../../shared/rules.js';
import { lookupGroup, lookupUser } from '../native/libc.js';
import { DEFAULT_QEMU_CONF, confString, readQemuConf } from '../libvirt/qemu-conf.js';

export { isContext };

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

/** libvirt's virSecuritySELinuxMCSFind over c0.c1023: two distinct random categories, lower first. */
export function randomImageLabel(base = DEFAULT_IMAGE_LABEL_BASE): string {
  for (;;) {
    const a = randomInt(1024);
    const b = randomInt(1024);
    if (a === b) continue;
    return `${base}:c${Math.min(a, b)},c${Math.max(a, b)}`;
  }
}

/** Problems with a profile (empty when it is usable). */
export function profileProblems(p: VmProfile, action: 'relabel' | 'restore' = 'relabel'): string[] {
  const out: string[] = [];
  if (typeof p !== 'object' || p === null) return ['no profile'];
  if (!Array.isArray(p.drivers) || p.drivers.length === 0) out.push('no security driver chosen (dac, selinux or both)');
  for (const d of p.drivers ?? []) if (d !== 'dac' && d !== 'selinux') out.push(`unknown driver '${String(d)}'`);
  if (action === 'relabel' && p.drivers?.includes('dac')) {
    if (!isIdName(p.user)) out.push(`invalid user '${p.user}'`);
    else {
      try { parseUser(p.user); } catch (e) { out.push((e as Error).message); }
    }
    if (!isIdName(p.group)) out.push(`invalid group '${p.group}'`);
    else {
      try { parseGroup(p.group); } catch (e) { out.push((e as Error).message); }
    }
  }
  if (p.imageLabel !== undefined && !isContext(p.imageLabel)) out.push(`invalid SELinux label '${p.imageLabel}'`);
  if (p.rememberOwner !== undefined && typeof p.rememberOwner !== 'boolean') out.push('rememberOwner must be true or false');
  if (p.disks !== undefined && !Array.isArray(p.disks)) out.push('disks must be a list');
  for (const d of Array.isArray(p.disks) ? p.disks : []) {
    const name = d?.target ?? d?.path;
    if (typeof d?.path !== 'string' || !d.path) {
      out.push('a disk of the profile has no path');
      continue;
    }
    const labels = [...(d.seclabels ?? []), ...Object.values(d.layerSeclabels ?? {}).flat()];
    for (const s of labels) {
      if (s.model !== 'dac' && s.model !== 'selinux') out.push(`disk ${name}: unknown seclabel model '${String(s.model)}'`);
      else if (s.label !== undefined && !s.relabel) out.push(`disk ${name}: a ${s.model} label with relabel='no'`);
      else if (s.label !== undefined && s.model === 'selinux' && !isContext(s.label)) out.push(`disk ${name}: invalid SELinux label '${s.label}'`);
      else if (s.label !== undefined && s.model === 'dac' && action === 'relabel') {
        try {
          parseOwnership(s.label);
        } catch (e) {
          out.push(`disk ${name}: ${(e as Error).message}`);
        }
      }
    }
  }
  return out;
}

/** The same profile with its drivers in a fixed order and an image label chosen once. */
export function settleProfile(p: VmProfile): VmProfile {
  const drivers = (['dac', 'selinux'] as Driver[]).filter((d) => p.drivers.includes(d));
  return {
    ...p,
    drivers,
    imageLabel: p.imageLabel ?? (drivers.includes('selinux') ? randomImageLabel() : undefined),
    allowRoots: [...(p.allowRoots ?? [])],
    allowHardLinks: !!p.allowHardLinks,
    openedFolders: [...(p.openedFolders ?? [])],
  };
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
