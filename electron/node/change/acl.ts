// POSIX.1e access ACLs as Linux stores them in the `system.posix_acl_access` xattr, and the
// kernel's permission check over them (fs/namei.c acl_permission_check, fs/posix_acl.c
// posix_acl_permission). The xattr is hostile input: every length and field is checked.

export const ACL_XATTR = 'system.posix_acl_access';
/** POSIX_ACL_XATTR_VERSION: the only version the kernel reads or writes. */
export const ACL_VERSION = 2;
const HEADER = 4;
const ENTRY = 8;
/** The most entries an xattr value can hold (the kernel caps values at 64 KiB). */
export const MAX_ACL_ENTRIES = Math.floor((65536 - HEADER) / ENTRY);
const UNDEFINED_ID = 0xffffffff;

export type AclTag = 'user_obj' | 'user' | 'group_obj' | 'group' | 'mask' | 'other';

const TAG_CODE: Record<AclTag, number> = { user_obj: 0x01, user: 0x02, group_obj: 0x04, group: 0x08, mask: 0x10, other: 0x20 };
const CODE_TAG = new Map(Object.entries(TAG_CODE).map(([k, v]) => [v, k as AclTag]));
/** The order the kernel keeps (and requires): tags in this order, named entries by id. */
const TAG_ORDER: AclTag[] = ['user_obj', 'user', 'group_obj', 'group', 'mask', 'other'];

export interface AclEntry {
  tag: AclTag;
  /** uid or gid for `user` and `group` entries; null for the others. */
  id: number | null;
  /** rwx bits, r=4 w=2 x=1. */
  perm: number;
}

export type Acl = AclEntry[];

export class AclError extends Error {}

/**
 * Parse the xattr bytes. Checks what the kernel's posix_acl_from_xattr and posix_acl_valid
 * check: version, whole entries, known tags, perms within rwx, one of each base entry, a mask
 * when there are named entries, the kernel's order, no duplicate ids.
 */
export function parseAcl(buf: Uint8Array): Acl {
  if (buf.length < HEADER) throw new AclError(`ACL xattr is truncated (${buf.length} bytes, the header alone is ${HEADER})`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = view.getUint32(0, true);
  if (version !== ACL_VERSION) throw new AclError(`ACL xattr has version ${version}, not ${ACL_VERSION}`);
  const body = buf.length - HEADER;
  if (body % ENTRY !== 0)
    throw new AclError(`ACL xattr is truncated (${buf.length} bytes is not a header plus whole ${ENTRY}-byte entries)`);
  const count = body / ENTRY;
  if (count > MAX_ACL_ENTRIES) throw new AclError(`ACL xattr has too many entries (${count}, at most ${MAX_ACL_ENTRIES})`);
  const acl: Acl = [];
  for (let i = 0; i < count; i++) {
    const off = HEADER + i * ENTRY;
    const code = view.getUint16(off, true);
    const perm = view.getUint16(off + 2, true);
    const id = view.getUint32(off + 4, true);
    const tag = CODE_TAG.get(code);
    if (!tag) throw new AclError(`ACL entry ${i} has an unknown tag 0x${code.toString(16)}`);
    if (perm > 7) throw new AclError(`ACL entry ${i} has permission bits 0x${perm.toString(16)} beyond rwx`);
    const named = tag === 'user' || tag === 'group';
    if (named && id === UNDEFINED_ID) throw new AclError(`ACL entry ${i} (${tag}) has no id`);
    acl.push({ tag, id: named ? id : null, perm });
  }
  validateAcl(acl);
  return acl;
}

/** posix_acl_valid: throws an AclError naming the first problem. */
export function validateAcl(acl: Acl): void {
  let rank = 0;
  let lastId = -1;
  const seen = new Set<AclTag>();
  for (const [i, e] of acl.entries()) {
    const r = TAG_ORDER.indexOf(e.tag);
    if (r < rank) throw new AclError(`ACL entry ${i} (${e.tag}) is out of order`);
    if (r > rank) lastId = -1;
    rank = r;
    if (e.tag === 'user' || e.tag === 'group') {
      if (e.id === null || e.id <= lastId) throw new AclError(`ACL entry ${i} (${e.tag}:${e.id}) is out of order or a duplicate`);
      lastId = e.id;
    } else {
      if (seen.has(e.tag)) throw new AclError(`ACL has two ${e.tag} entries`);
      seen.add(e.tag);
    }
  }
  for (const t of ['user_obj', 'group_obj', 'other'] as const) if (!seen.has(t)) throw new AclError(`ACL has no ${t} entry`);
  if (acl.some((e) => e.tag === 'user' || e.tag === 'group') && !seen.has('mask')) throw new AclError('ACL has named entries but no mask');
}

/** The xattr bytes for an ACL, entries in the kernel's order. */
export function serializeAcl(acl: Acl): Buffer {
  const sorted = sortAcl(acl);
  validateAcl(sorted);
  const buf = Buffer.alloc(HEADER + ENTRY * sorted.length);
  buf.writeUInt32LE(ACL_VERSION, 0);
  sorted.forEach((e, i) => {
    const off = HEADER + i * ENTRY;
    buf.writeUInt16LE(TAG_CODE[e.tag], off);
    buf.writeUInt16LE(e.perm & 7, off + 2);
    buf.writeUInt32LE(e.id ?? UNDEFINED_ID, off + 4);
  });
  return buf;
}

export function sortAcl(acl: Acl): Acl {
  return [...acl].sort((a, b) => TAG_ORDER.indexOf(a.tag) - TAG_ORDER.indexOf(b.tag) || (a.id ?? 0) - (b.id ?? 0));
}

export function permText(bits: number): string {
  return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
}

/** One entry as getfacl writes it with numeric ids: `user:107:r-x`, `mask::rwx`. */
export function entryText(e: AclEntry): string {
  const tag = e.tag === 'user_obj' ? 'user' : e.tag === 'group_obj' ? 'group' : e.tag;
  return `${tag}:${e.id ?? ''}:${permText(e.perm)}`;
}

/** getfacl -n -c -E's lines. */
export function aclLines(acl: Acl): string[] {
  return sortAcl(acl).map(entryText);
}

/** The short text form (`setfacl --set` accepts it). */
export function aclText(acl: Acl): string {
  return aclLines(acl).join(',');
}

/** The minimal ACL a mode stands for (user::, group::, other::). */
export function aclFromMode(mode: number): Acl {
  return [
    { tag: 'user_obj', id: null, perm: (mode >> 6) & 7 },
    { tag: 'group_obj', id: null, perm: (mode >> 3) & 7 },
    { tag: 'other', id: null, perm: mode & 7 },
  ];
}

/**
 * The permission bits the kernel keeps in i_mode for an ACL (posix_acl_equiv_mode /
 * posix_acl_update_mode): owner = user_obj, group = the mask (group_obj when there is no mask),
 * other = other. Special bits come from `mode`.
 */
export function modeForAcl(acl: Acl, mode: number): number {
  const get = (t: AclTag) => acl.find((e) => e.tag === t)?.perm ?? 0;
  const hasMask = acl.some((e) => e.tag === 'mask');
  return (mode & ~0o777) | (get('user_obj') << 6) | ((hasMask ? get('mask') : get('group_obj')) << 3) | get('other');
}

/** An ACL that says no more than the mode: the kernel stores none for it. */
export function isMinimal(acl: Acl): boolean {
  return acl.every((e) => e.tag === 'user_obj' || e.tag === 'group_obj' || e.tag === 'other');
}

// ---- the kernel's check ------------------------------------------------------------------------

export interface Inode {
  uid: number;
  gid: number;
  /** st_mode (permission bits used). */
  mode: number;
  /** The access ACL, null when there is none. */
  acl: Acl | null;
}

export interface Caller {
  uid: number;
  /** fsgid first, then the supplementary groups (in_group_p looks at all of them). */
  groups: readonly number[];
}

export interface Decision {
  ok: boolean;
  rule: 'owner' | 'named-user' | 'owning-group' | 'named-group' | 'group' | 'other';
  /** What the deciding rule grants, after the mask where one applies. */
  granted: number;
  /** The entry (or bits) that decided, getfacl style or "mode 0750 (group r-x)". */
  entry: string;
  /** The ACL was skipped because the mode's group bits (its mask) are empty. */
  aclIgnored: boolean;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Whether a caller without capabilities gets `want` (rwx bits) on an inode, decided exactly as
 * Linux does: the owner's bits first (ACL or not); then, when there is an ACL and the mode's
 * group bits are not empty, posix_acl_permission (named user, then the first of owning group and
 * named groups that grants all of `want`, masked; a matching group that does not grants nothing);
 * otherwise the group bits for a member of the owning group, else the other bits.
 */
export function checkAccess(inode: Inode, caller: Caller, want: number): Decision {
  want &= 7;
  const mode = inode.mode;
  const decide = (rule: Decision['rule'], granted: number, entry: string, aclIgnored = false): Decision => ({
    ok: (want & ~granted) === 0,
    rule,
    granted,
    entry,
    aclIgnored,
  });
  if (caller.uid === inode.uid)
    return decide(
      'owner',
      (mode >> 6) & 7,
      inode.acl ? `user::${permText((mode >> 6) & 7)}` : `mode ${octal(mode)} (owner ${permText((mode >> 6) & 7)})`,
    );
  const inGroup = (g: number) => caller.groups.includes(g);
  const acl = inode.acl;
  if (acl && mode & 0o070) {
    const mask = acl.find((e) => e.tag === 'mask');
    const masked = (e: AclEntry) => (mask ? e.perm & mask.perm : e.perm);
    const maskNote = (e: AclEntry) => (mask && e.perm & ~mask.perm & want ? ` masked by mask::${permText(mask.perm)}` : '');
    const found: AclEntry[] = [];
    for (const e of acl) {
      if (e.tag === 'user' && e.id === caller.uid) return decide('named-user', masked(e), entryText(e) + maskNote(e));
      if ((e.tag === 'group_obj' && inGroup(inode.gid)) || (e.tag === 'group' && e.id !== null && inGroup(e.id))) {
        found.push(e);
        if ((e.perm & want) === want)
          return decide(e.tag === 'group_obj' ? 'owning-group' : 'named-group', masked(e), entryText(e) + maskNote(e));
      }
      if (e.tag === 'other') {
        if (found.length) {
          const first = found[0]!;
          return decide(
            first.tag === 'group_obj' ? 'owning-group' : 'named-group',
            0,
            found.map(entryText).join(', ') + ' (no matching group entry grants it)',
          );
        }
        return decide('other', e.perm, entryText(e));
      }
    }
  }
  const ignored = !!acl && !(mode & 0o070);
  const why = ignored ? '; the ACL is skipped: its mask is empty' : '';
  if (inGroup(inode.gid))
    return decide('group', (mode >> 3) & 7, `mode ${octal(mode)} (group ${permText((mode >> 3) & 7)})${why}`, ignored);
  return decide('other', mode & 7, `mode ${octal(mode)} (other ${permText(mode & 7)})${why}`, ignored);
}
