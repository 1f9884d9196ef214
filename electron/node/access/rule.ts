// The one change check-access --fix makes on a folder, and the rule the helper holds it to.
//
// The VM's process needs search (x) on every folder it looks a name up in. The fix is what
// virt-manager's "fix permissions" does: an ACL entry `user:<VM uid>:--x` (or x added to the
// VM uid's existing entry), the mask widened by x only when it lacks it; when the VM's uid owns
// the folder, x for the owner. The rule (checked by the helper on its own re-plan, independent of
// the code that made the change):
//   - only folders the kernel searches while opening a chain file, for chain files that lie
//     inside the allowed folders (the walk is redone by the helper; nothing is taken from the
//     request), never under /proc, /sys, /dev, /etc, /boot, /usr...;
//   - the owner and the special bits never change; no entry is removed; no entry gains r or w;
//   - the only entries that change or appear are user:<VM uid> (x only), the mask (x added, or a
//     new mask no wider than group::'s bits plus x) and user:: when the VM's uid is the owner;
//   - the mode's permission bits are the ones the kernel derives from the new ACL.
import { forbiddenWhy } from '../change/consent.js';

export { onTheWay } from '../change/consent.js';
import type { RawState } from '../change/state.js';
import {
  ACL_XATTR,
  aclFromMode,
  entryText,
  isMinimal,
  modeForAcl,
  parseAcl,
  permText,
  serializeAcl,
  type Acl,
  type AclEntry,
} from '../change/acl.js';

/** Never changed: the one forbidden list the consent rules keep (system trees, too-wide folders). */
export function forbiddenFolder(p: string): boolean {
  return forbiddenWhy(p) !== null;
}

/** The ACL a state stands for: its xattr, or the minimal one its mode gives. */
export function effectiveAcl(s: RawState): Acl {
  const hex = s.xattrs[ACL_XATTR];
  return hex === undefined ? aclFromMode(s.mode) : parseAcl(Buffer.from(hex, 'hex'));
}

const same = (a: AclEntry, b: AclEntry) => a.tag === b.tag && a.id === b.id;

export interface FolderFix {
  to: RawState;
  changes: string[];
}

/** The smallest change that gives `uid` search permission on a folder in state `from`. */
export function folderFix(from: RawState, uid: number): FolderFix {
  const acl = effectiveAcl(from).map((e) => ({ ...e }));
  const changes: string[] = [];
  const to: RawState = { ...from, xattrs: { ...from.xattrs } };
  if (uid === from.uid) {
    const o = acl.find((e) => e.tag === 'user_obj')!;
    changes.push(`user::${permText(o.perm)} → user::${permText(o.perm | 1)} (the VM's uid owns the folder)`);
    o.perm |= 1;
  } else {
    const mine = acl.find((e) => e.tag === 'user' && e.id === uid);
    if (mine) {
      changes.push(`${entryText(mine)} → ${entryText({ ...mine, perm: mine.perm | 1 })}`);
      mine.perm |= 1;
    } else {
      const e: AclEntry = { tag: 'user', id: uid, perm: 1 };
      acl.push(e);
      changes.push(`add ${entryText(e)}`);
    }
    const mask = acl.find((e) => e.tag === 'mask');
    if (!mask) {
      // setfacl's rule for a new mask: the union of the group class. Without a mask there are no
      // other named entries (the kernel requires one with them), so that is group:: plus our x.
      const g = acl.find((e) => e.tag === 'group_obj')!;
      const perm = g.perm | 1;
      acl.push({ tag: 'mask', id: null, perm });
      changes.push(`add mask::${permText(perm)}`);
    } else if (!(mask.perm & 1)) {
      changes.push(`mask::${permText(mask.perm)} → mask::${permText(mask.perm | 1)}`);
      mask.perm |= 1;
      // The mask limits the whole group class: entries that name x but were masked gain it too.
      const others = acl.filter(
        (e) => (e.tag === 'user' || e.tag === 'group' || e.tag === 'group_obj') && e.perm & 1 && !(e.tag === 'user' && e.id === uid),
      );
      if (others.length) changes.push(`(the wider mask also lets ${others.map(entryText).join(', ')} search this folder)`);
    }
  }
  const newMode = modeForAcl(acl, from.mode);
  if (isMinimal(acl)) delete to.xattrs[ACL_XATTR];
  else to.xattrs[ACL_XATTR] = serializeAcl(acl).toString('hex');
  if ((newMode & 0o777) !== (from.mode & 0o777))
    changes.push(`mode ${(from.mode & 0o7777).toString(8).padStart(4, '0')} → ${(newMode & 0o7777).toString(8).padStart(4, '0')}`);
  to.mode = newMode;
  return { to, changes };
}

/** Why a folder change breaks the rule above; empty when it keeps to it. */
export function folderChangeProblems(path: string, from: RawState, to: RawState, uid: number): string[] {
  const out: string[] = [];
  if (forbiddenFolder(path)) out.push(`${path} is a system folder: never changed`);
  if (from.dev !== to.dev || from.ino !== to.ino) out.push('another folder');
  if (from.uid !== to.uid || from.gid !== to.gid) out.push('the owner would change');
  if ((from.mode & ~0o777) !== (to.mode & ~0o777)) out.push('the type or special bits would change');
  let a: Acl;
  let b: Acl;
  try {
    a = effectiveAcl(from);
    b = effectiveAcl(to);
  } catch (e) {
    return [...out, `unreadable ACL (${(e as Error).message})`];
  }
  const groupObj = a.find((e) => e.tag === 'group_obj')!.perm;
  for (const e of a) {
    const f = b.find((x) => same(x, e));
    if (!f) {
      out.push(`would remove ${entryText(e)}`);
      continue;
    }
    if (f.perm & ~e.perm & ~1) out.push(`would give ${entryText(e)} more than x`);
    if (f.perm & ~e.perm & 1) {
      const mayGainX = (e.tag === 'user' && e.id === uid) || e.tag === 'mask' || (e.tag === 'user_obj' && from.uid === uid);
      if (!mayGainX) out.push(`would change ${entryText(e)}`);
    }
    if (e.perm & ~f.perm) out.push(`would take bits from ${entryText(e)}`);
  }
  for (const f of b) {
    if (a.some((x) => same(x, f))) continue;
    if (f.tag === 'user' && f.id === uid && f.perm === 1) continue;
    if (f.tag === 'mask' && (f.perm & ~(groupObj | 1)) === 0) continue;
    out.push(`would add ${entryText(f)}`);
  }
  if ((to.mode & 0o777) !== (modeForAcl(b, to.mode) & 0o777)) out.push('the mode does not match the new ACL');
  return out;
}
