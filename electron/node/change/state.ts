// A file's labelling state read from an open descriptor: owner, mode, SELinux context and
// libvirt's remembered-label xattrs, exactly as bytes (the journal restores bytes, not text).
import * as fs from 'node:fs';
import type { FileState } from '../../../shared/plan.js';
import { ACL_XATTR, AclError, aclText, parseAcl, serializeAcl } from './acl.js';
import { fgetxattr, flistxattr, groupName, lgetxattr, llistxattr, userName } from '../native/libc.js';
import { holdForReading, openHeld } from '../native/walk.js';

export const SELINUX_XATTR = 'security.selinux';
export const LIBVIRT_PREFIX = 'trusted.libvirt.security.';
export const LIBVIRT_SHORT_NAMES = ['dac', 'ref_dac', 'timestamp_dac', 'selinux', 'ref_selinux', 'timestamp_selinux'] as const;
export type LibvirtShortName = (typeof LIBVIRT_SHORT_NAMES)[number];
/** Every xattr diskchain may change; nothing else on a file is ever touched. */
export const MANAGED_XATTRS: readonly string[] = [SELINUX_XATTR, ...LIBVIRT_SHORT_NAMES.map((n) => LIBVIRT_PREFIX + n)];
const MANAGED = new Set(MANAGED_XATTRS);
export { ACL_XATTR };
/**
 * What a change is about: a file's labels (owner, mode, managed xattrs), or a folder's access
 * ACL (check-access --fix: owner, mode and system.posix_acl_access; nothing else on a folder).
 */
export type ChangeKind = 'file' | 'folder-acl';
/** Every xattr the engine compares or sets (a file's state never holds the ACL, a folder's only the ACL). */
export const COMPARED_XATTRS: readonly string[] = [...MANAGED_XATTRS, ACL_XATTR];

/** One file's change, as bytes: what the engine journals and applies. */
export interface RawChange {
  path: string;
  /** The top image of the disk this change belongs to. */
  disk: string;
  from: RawState;
  to: RawState;
}

/** Owner, mode and the managed xattrs (hex of their exact bytes; absent names are absent). */
export interface RawState {
  dev: number;
  ino: number;
  nlink: number;
  /** st_mode, type bits included. */
  mode: number;
  uid: number;
  gid: number;
  xattrs: Record<string, string>;
}

/**
 * Open a folder to read its ACL (for showing; changes go through consent.ts): held first
 * (O_PATH), then opened only when it is a folder, so a link swapped in mid-way opens nothing.
 */
function openFolderToRead(path: string): number {
  const held = holdForReading(path);
  if (!held.st.isDirectory()) {
    fs.closeSync(held.fd);
    throw Object.assign(new Error(`${path} is not a folder`), { code: 'ETYPE' });
  }
  return openHeld(held, path);
}

export function isRegular(mode: number): boolean {
  return (mode & 0o170000) === 0o100000;
}

/** Read the state of an open file. */
export function captureFd(fd: number, known?: fs.Stats): RawState {
  const st = known ?? fs.fstatSync(fd);
  const xattrs: Record<string, string> = {};
  for (const name of flistxattr(fd)) {
    if (!MANAGED.has(name)) continue;
    const v = fgetxattr(fd, name);
    if (v) xattrs[name] = v.toString('hex');
  }
  return { dev: st.dev, ino: st.ino, nlink: st.nlink, mode: st.mode, uid: st.uid, gid: st.gid, xattrs };
}

/** Text of an xattr value: without the trailing NUL that libselinux and the kernel store. */
export function xattrText(hex: string | undefined): string | null {
  if (hex === undefined) return null;
  return remembered(textOfHex, hex, () => {
    const b = Buffer.from(hex, 'hex');
    const end = b.indexOf(0);
    return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
  });
}

/** What libselinux's setfilecon_raw stores: the context and its NUL. */
export function selinuxHex(context: string): string {
  return remembered(selinuxHexOf, context, () => Buffer.from(context + '\0', 'utf8').toString('hex'));
}

/** What libvirt's virFileSetXAttr stores: the text, no NUL. */
export function textHex(value: string): string {
  return remembered(hexOfText, value, () => Buffer.from(value, 'utf8').toString('hex'));
}

// A plan converts the same few labels, counts and boot times tens of thousands of times: each
// conversion is kept, and the maps emptied when they grow past a few thousand values.
const textOfHex = new Map<string, string>();
const selinuxHexOf = new Map<string, string>();
const hexOfText = new Map<string, string>();
const REMEMBERED_MAX = 4096;

function remembered(map: Map<string, string>, key: string, make: () => string): string {
  let v = map.get(key);
  if (v === undefined) {
    if (map.size >= REMEMBERED_MAX) map.clear();
    v = make();
    map.set(key, v);
  }
  return v;
}

/** An ACL xattr in the kernel's canonical form (hex), or the bytes as they are when they do not parse. */
function canonicalAcl(hex: string): string {
  try {
    return serializeAcl(parseAcl(Buffer.from(hex, 'hex'))).toString('hex');
  } catch (e) {
    if (e instanceof AclError) return hex;
    throw e;
  }
}

/**
 * Two values of one xattr are the same: the SELinux context compares as text (NUL or not), an
 * ACL as the entries it holds.
 */
export function sameXattr(name: string, a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  if (name === ACL_XATTR) return canonicalAcl(a) === canonicalAcl(b);
  return name === SELINUX_XATTR && xattrText(a) === xattrText(b);
}

/** The differences between two states, as component names ('owner', 'mode', xattr names). */
export function diffStates(a: RawState, b: RawState): string[] {
  const out: string[] = [];
  if (a.uid !== b.uid || a.gid !== b.gid) out.push('owner');
  if ((a.mode & 0o7777) !== (b.mode & 0o7777)) out.push('mode');
  for (const name of COMPARED_XATTRS) {
    if (!sameXattr(name, a.xattrs[name], b.xattrs[name])) out.push(name);
  }
  return out;
}

export function sameIdentity(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

const LIBVIRT_NAMES = LIBVIRT_SHORT_NAMES.map((n) => [n, LIBVIRT_PREFIX + n] as const);

/** The plan's view of a raw state. */
export function toFileState(s: RawState): FileState {
  const libvirt: Record<string, string> = {};
  for (const [n, full] of LIBVIRT_NAMES) {
    const t = xattrText(s.xattrs[full]);
    if (t !== null) libvirt[n] = t;
  }
  return {
    dev: s.dev,
    ino: s.ino,
    uid: s.uid,
    gid: s.gid,
    mode: s.mode,
    selinux: xattrText(s.xattrs[SELINUX_XATTR]),
    libvirt,
    nlink: s.nlink,
    user: userName(s.uid),
    group: groupName(s.gid),
  };
}

export function cloneRaw(s: RawState): RawState {
  return { ...s, xattrs: { ...s.xattrs } };
}

/**
 * A path's state as shown, read without opening anything (lstat, llistxattr, lgetxattr: a link
 * is read as the link). Only for showing and for the `from` of a change the engine checks again
 * on the descriptor it reaches from an allowed root (consent.ts) before anything changes.
 */
export function capturePath(path: string): RawState {
  const st = fs.lstatSync(path);
  const xattrs: Record<string, string> = {};
  for (const name of llistxattr(path)) {
    if (!MANAGED.has(name)) continue;
    const v = lgetxattr(path, name);
    if (v) xattrs[name] = v.toString('hex');
  }
  return { dev: st.dev, ino: st.ino, nlink: st.nlink, mode: st.mode, uid: st.uid, gid: st.gid, xattrs };
}

// ---- folders (check-access --fix) ---------------------------------------------------------------

export function isFolder(mode: number): boolean {
  return (mode & 0o170000) === 0o040000;
}

/** A folder's state: owner, mode and its access ACL (the only xattr kept). */
export function captureFolderFd(fd: number): RawState {
  const st = fs.fstatSync(fd);
  const xattrs: Record<string, string> = {};
  const acl = fgetxattr(fd, ACL_XATTR);
  if (acl) xattrs[ACL_XATTR] = acl.toString('hex');
  return { dev: st.dev, ino: st.ino, nlink: st.nlink, mode: st.mode, uid: st.uid, gid: st.gid, xattrs };
}

/** A folder's state by path; without privileges a folder we may not open is read through lstat. */
export function captureFolderPath(path: string): RawState {
  let fd: number;
  try {
    fd = openFolderToRead(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'EACCES' || code === 'EPERM') && process.getuid?.() !== 0) {
      const st = fs.lstatSync(path);
      const xattrs: Record<string, string> = {};
      const acl = lgetxattr(path, ACL_XATTR);
      if (acl) xattrs[ACL_XATTR] = acl.toString('hex');
      return { dev: st.dev, ino: st.ino, nlink: st.nlink, mode: st.mode, uid: st.uid, gid: st.gid, xattrs };
    }
    throw e;
  }
  try {
    return captureFolderFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The ACL of a state as getfacl's short text; null without one; the error text for bytes that do not parse. */
export function aclTextOf(s: RawState): string | null {
  const hex = s.xattrs[ACL_XATTR];
  if (hex === undefined) return null;
  try {
    return aclText(parseAcl(Buffer.from(hex, 'hex')));
  } catch (e) {
    return `(unreadable ACL: ${(e as Error).message})`;
  }
}

/** The plan's view of a folder's raw state. */
export function toFolderState(s: RawState): FileState {
  return { ...toFileState({ ...s, xattrs: {} }), acl: aclTextOf(s) };
}
