// Who owns a file, its SELinux context and what libvirt remembered, all read from the link
// itself (lstat, lgetxattr), never through it, or from a descriptor already open on the file.
import type * as fs from 'node:fs';
import type { FileStat, Owner, Remembered, RememberedRecord } from '../../../shared/model.js';
import { fgetxattr, flistxattr, groupName, lgetxattr, llistxattr, userName } from '../native/libc.js';
import { sameBoot } from './boottime.js';
import { fileType } from './open.js';

export const LIBVIRT_XATTR_PREFIX = 'trusted.libvirt.security.';
export const SELINUX_XATTR = 'security.selinux';

export function toFileStat(st: fs.Stats): FileStat {
  return {
    dev: st.dev,
    ino: st.ino,
    nlink: st.nlink,
    size: st.size,
    allocated: st.blocks * 512,
    type: fileType(st),
    mtimeMs: st.mtimeMs,
  };
}

export function ownerOf(st: fs.Stats): Owner {
  return { uid: st.uid, gid: st.gid, user: userName(st.uid), group: groupName(st.gid), mode: st.mode };
}

/** xattr text without the trailing NUL the kernel and libselinux often store. */
function text(v: Buffer | null): string | null {
  if (!v) return null;
  const end = v.indexOf(0);
  return v.subarray(0, end < 0 ? v.length : end).toString('utf8');
}

function record(values: Map<string, string | null>, driver: 'dac' | 'selinux'): RememberedRecord | null {
  const label = values.get(LIBVIRT_XATTR_PREFIX + driver) ?? null;
  const ref = values.get(`${LIBVIRT_XATTR_PREFIX}ref_${driver}`) ?? null;
  const timestamp = values.get(`${LIBVIRT_XATTR_PREFIX}timestamp_${driver}`) ?? null;
  if (label === null && ref === null && timestamp === null) return null;
  const n = ref !== null && /^\d+$/.test(ref) ? Number(ref) : null;
  return { label, refcount: n, timestamp, current: sameBoot(timestamp) };
}

export interface Labels {
  selinux: string | null;
  remembered: Remembered;
}

function noLabels(): Labels {
  return { selinux: null, remembered: { dac: null, selinux: null } };
}

/** SELinux context and libvirt's records of a path (the link itself). */
export function readLabels(path: string): Labels {
  return labelsFrom(
    () => llistxattr(path),
    (n) => lgetxattr(path, n),
  );
}

/**
 * The same, through a descriptor open for reading on the file: the labels of the very inode that
 * was checked and read, and no path looked up again.
 */
export function readLabelsOf(fd: number): Labels {
  return labelsFrom(
    () => flistxattr(fd),
    (n) => fgetxattr(fd, n),
  );
}

/** One listxattr, then only the values that exist. */
function labelsFrom(list: () => string[], get: (name: string) => Buffer | null): Labels {
  let names: string[];
  try {
    names = list();
  } catch {
    return noLabels();
  }
  // Most images carry no xattrs at all: nothing to look for.
  if (names.length === 0) return noLabels();
  const values = new Map<string, string | null>();
  let selinux: string | null = null;
  for (const n of names) {
    if (n === SELINUX_XATTR) selinux = text(safeGet(get, n));
    else if (n.startsWith(LIBVIRT_XATTR_PREFIX)) values.set(n, text(safeGet(get, n)));
  }
  return { selinux, remembered: { dac: record(values, 'dac'), selinux: record(values, 'selinux') } };
}

function safeGet(get: (name: string) => Buffer | null, name: string): Buffer | null {
  try {
    return get(name);
  } catch {
    return null;
  }
}
