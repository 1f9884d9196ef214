// Whom a caller who came through pkexec may give files to. Without this the helper would be a
// general root chown for anyone its policy lets in: the owner must be the caller's own (a
// session VM runs as the user) or the qemu user and group libvirt is configured with (a system
// VM). Root, who could chown anyway, is not limited.
import type { Refusal, VmProfile } from '../../../shared/plan.js';
import { groupList, lookupUser, userName } from '../native/libc.js';
import { defaultOwner, parseGroup, parseOwnership, parseUser } from '../libvirt/owner.js';
import { ACL_XATTR, parseAcl } from './acl.js';
import { callerUid, throughPkexec } from './consent.js';
import type { RawState } from './state.js';

interface Owners {
  uids: Set<number>;
  gids: Set<number>;
}

/** libvirt's qemu user and group, as qemu.conf (or the distribution's default) names them. */
function qemuOwners(): Owners {
  const out: Owners = { uids: new Set(), gids: new Set() };
  const qemu = defaultOwner();
  if (qemu) {
    try {
      out.uids.add(parseUser(qemu.user));
      out.gids.add(parseGroup(qemu.group));
    } catch {
      /* a qemu.conf naming nobody adds nobody */
    }
  }
  return out;
}

/** The caller's uid and every group it is in. */
function callerOwners(caller = callerUid()): Owners {
  const gids = new Set<number>();
  const name = userName(caller);
  const me = name ? lookupUser(name) : null;
  if (name && me) for (const g of groupList(name, me.gid)) gids.add(g);
  return { uids: new Set([caller]), gids };
}

/** The uids and gids a pkexec caller may hand files to (in its own folders; libvirt's take qemu's only). */
export function permittedOwners(caller = callerUid()): Owners {
  return merged(qemuOwners(), callerOwners(caller));
}

/**
 * Why a pkexec caller may not make this change to one file or folder, or null. In a folder of
 * the caller's own, files may go to the caller or to qemu; anywhere else (libvirt's folders,
 * which root owns) only to qemu, so nobody takes root's images. A folder's ACL may open it up
 * for the caller only when the caller owns the folder.
 */
export function giveProblem(
  c: { kind?: 'file' | 'folder-acl'; from: RawState; to: RawState },
  callerOwnsRoot: boolean,
  owners: GiveOwners = giveOwners(),
): string | null {
  if (!throughPkexec()) return null;
  const q = owners.qemu;
  if (c.kind === 'folder-acl') {
    const granted = grantedUids(c.from, c.to).filter((u) => !q.uids.has(u));
    if (granted.length && c.from.uid !== callerUid())
      return `would open a folder the calling user does not own to uid ${granted.join(', ')}: through pkexec only for libvirt's qemu user`;
    return null;
  }
  const allowed = callerOwnsRoot ? owners.qemuOrCaller : q;
  if ((c.to.uid === c.from.uid || allowed.uids.has(c.to.uid)) && (c.to.gid === c.from.gid || allowed.gids.has(c.to.gid))) return null;
  return `would become ${c.to.uid}:${c.to.gid}: through pkexec, files go only to libvirt's qemu user, or to the calling user in its own folders`;
}

/** Who files may go to, read once per run (qemu.conf, NSS): giveProblem is asked per file. */
export interface GiveOwners {
  qemu: Owners;
  qemuOrCaller: Owners;
}

export function giveOwners(): GiveOwners {
  const qemu = qemuOwners();
  return { qemu, qemuOrCaller: merged(qemu, callerOwners()) };
}

function merged(a: Owners, b: Owners): Owners {
  return { uids: new Set([...a.uids, ...b.uids]), gids: new Set([...a.gids, ...b.gids]) };
}

/** The uids a folder ACL change adds or widens a named entry for. */
function grantedUids(from: RawState, to: RawState): number[] {
  const entries = (s: RawState) => {
    const hex = s.xattrs[ACL_XATTR];
    try {
      return hex === undefined ? [] : parseAcl(Buffer.from(hex, 'hex'));
    } catch {
      return [];
    }
  };
  const before = entries(from);
  return entries(to)
    .filter((e) => e.tag === 'user' && e.id !== null)
    .filter((e) => !before.some((b) => b.tag === 'user' && b.id === e.id && (b.perm | e.perm) === b.perm))
    .map((e) => e.id!);
}

/** Every owner a relabel with `profile` would set: the profile's, and each disk's and layer's DAC seclabel. */
function ownersOf(profile: VmProfile): { label: string; uid: number; gid: number }[] {
  const out = [{ label: `${profile.user}:${profile.group}`, uid: parseUser(profile.user), gid: parseGroup(profile.group) }];
  for (const d of profile.disks ?? []) {
    const labels = [...d.seclabels, ...Object.values(d.layerSeclabels ?? {}).flat()];
    for (const s of labels) if (s.model === 'dac' && s.label) out.push({ label: s.label, ...parseOwnership(s.label) });
  }
  return out;
}

/** Refusals for owners a pkexec caller may not give; empty for root and for restore (records say the owner). */
export function ownerRefusals(profile: VmProfile, action: 'relabel' | 'restore'): Refusal[] {
  if (!throughPkexec() || action !== 'relabel' || !profile.drivers.includes('dac')) return [];
  const { uids, gids } = permittedOwners();
  const out: Refusal[] = [];
  let owners;
  try {
    owners = ownersOf(profile);
  } catch (e) {
    return [{ path: '', message: (e as Error).message }];
  }
  for (const o of owners) {
    if (!uids.has(o.uid) || !gids.has(o.gid)) {
      out.push({
        path: '',
        message: `owner ${o.label} (${o.uid}:${o.gid}) refused: through pkexec files go only to the calling user or to libvirt's qemu user and group`,
      });
    }
  }
  return out;
}

/** The same rule for a uid that an access fix would give search permission to. */
export function subjectRefusal(uid: number): Refusal | null {
  if (!throughPkexec() || permittedOwners().uids.has(uid)) return null;
  return { path: '', message: `uid ${uid} refused: through pkexec folders are opened up only for the calling user or libvirt's qemu user` };
}
