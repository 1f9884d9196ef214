// Whom a caller who came through pkexec may give files to. Without this the helper would be a
// general root chown for anyone its policy lets in: the owner must be the caller's own (a
// session VM runs as the user) or the qemu user and group libvirt is configured with (a system
// VM). Root, who could chown anyway, is not limited.
import type { Refusal, VmProfile } from '../../../shared/plan.js';
import { groupList, lookupUser, userName } from '../native/libc.js';
import { defaultOwner, parseGroup, parseOwnership, parseUser } from '../relabel/profile.js';
import { callerUid, throughPkexec } from './consent.js';

/** The uids and gids a pkexec caller may hand files to. */
export function permittedOwners(caller = callerUid()): { uids: Set<number>; gids: Set<number> } {
  const uids = new Set([caller]);
  const gids = new Set<number>();
  const name = userName(caller);
  const me = name ? lookupUser(name) : null;
  if (name && me) for (const g of groupList(name, me.gid)) gids.add(g);
  const qemu = defaultOwner();
  if (qemu) {
    try {
      uids.add(parseUser(qemu.user));
      gids.add(parseGroup(qemu.group));
    } catch { /* a qemu.conf naming nobody adds nobody */ }
  }
  return { uids, gids };
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
      out.push({ path: '', message: `owner ${o.label} (${o.uid}:${o.gid}) refused: through pkexec files go only to the calling user or to libvirt's qemu user and group` });
    }
  }
  return out;
}

/** The same rule for a uid that an access fix would give search permission to. */
export function subjectRefusal(uid: number): Refusal | null {
  if (!throughPkexec() || permittedOwners().uids.has(uid)) return null;
  return { path: '', message: `uid ${uid} refused: through pkexec folders are opened up only for the calling user or libvirt's qemu user` };
}
