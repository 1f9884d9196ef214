// The one place an image file is opened: held first (O_PATH, which reaches no driver), checked to
// be the very regular file lstat saw (a folder swapped for a link to /dev mid-way holds another
// inode and stops here), and only then opened for reading, without blocking.
import * as fs from 'node:fs';
import type { FileStat } from '../../../shared/model.js';
import { holdForReading, openHeld } from '../native/walk.js';
import { HeaderError, fdSource, type ImageSource } from './source.js';

/** The kind of file an lstat found. */
export function fileType(st: fs.Stats): FileStat['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice()) return 'block';
  if (st.isCharacterDevice()) return 'char';
  return 'unknown';
}

/** Why a file of this type is never read, or null for a regular file. */
export function refuseType(type: FileStat['type']): { code: 'device' | 'not-regular'; what: string } | null {
  switch (type) {
    case 'file':
      return null;
    case 'block':
    case 'char':
      return { code: 'device', what: `a ${type} device` };
    case 'dir':
      return { code: 'not-regular', what: 'a folder' };
    case 'fifo':
      return { code: 'not-regular', what: 'a FIFO' };
    default:
      return { code: 'not-regular', what: `a ${type}` };
  }
}

export class FileChangedError extends Error {}

/** Open `real` (lstat'ed as `st`) and hand its bounded source to `fn`; the descriptor is always closed. */
export function withImage<T>(real: string, st: fs.Stats, fn: (src: ImageSource) => T): T {
  const { fd, size } = openRegular(real, st);
  try {
    return fn(fdSource(fd, size));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Open a file a user named (a domain XML) for reading: its real path held with no link on the
 * way, refused unless it is a regular file. The caller closes the descriptor.
 */
export function openRegularFile(name: string): { fd: number; size: number } {
  const real = fs.realpathSync.native(name);
  const st = fs.lstatSync(real);
  const refused = refuseType(fileType(st));
  if (refused) throw new HeaderError(`${name} is ${refused.what}; diskchain never opens one`);
  return openRegular(real, st);
}

/** Open `real` for reading when it is still the regular file `st` (lstat) saw; else FileChangedError. */
function openRegular(real: string, st: fs.Stats): { fd: number; size: number } {
  let held;
  try {
    held = holdForReading(real);
  } catch (e) {
    throw new FileChangedError(`${real} changed while it was being read (${(e as Error).message})`);
  }
  if (held.st.dev !== st.dev || held.st.ino !== st.ino || !held.st.isFile()) {
    fs.closeSync(held.fd);
    throw new FileChangedError(`${real} changed while it was being read`);
  }
  const size = held.st.size;
  return { fd: openHeld(held, real), size };
}

/**
 * Open a file a header names for reading (a VMDK extent) with the same care as an image: resolve
 * it, lstat it, refuse what is not a regular file. Null when it does not exist. The caller closes.
 */
export function openNamed(name: string): { src: ImageSource; close: () => void } | null {
  let real: string;
  try {
    real = fs.realpathSync.native(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const st = fs.lstatSync(real);
  const refused = refuseType(fileType(st));
  if (refused) throw new HeaderError(`Could not open '${name}': it is ${refused.what}; diskchain never opens one`);
  const { fd, size } = openRegular(real, st);
  return { src: fdSource(fd, size), close: () => fs.closeSync(fd) };
}

/**
 * realpath + lstat in one step, with the folders' real paths cached: a pool of thousands of
 * images in one folder resolves that folder once, not once per file (realpath(3) readlinks every
 * component). Falls back to a full realpath when the last component is a link or `.`/`..`.
 * Throws the errno errors realpath and lstat throw.
 */
export function resolveFile(joined: string, dirs: Map<string, string>): { real: string; st: fs.Stats } {
  const slash = joined.lastIndexOf('/');
  const base = joined.slice(slash + 1);
  if (slash >= 0 && base !== '' && base !== '.' && base !== '..') {
    const dir = slash === 0 ? '/' : joined.slice(0, slash);
    let rdir = dirs.get(dir);
    if (rdir === undefined) {
      rdir = fs.realpathSync.native(dir);
      dirs.set(dir, rdir);
    }
    const candidate = rdir === '/' ? `/${base}` : `${rdir}/${base}`;
    const st = fs.lstatSync(candidate);
    if (!st.isSymbolicLink()) return { real: candidate, st };
  }
  const real = fs.realpathSync.native(joined);
  return { real, st: fs.lstatSync(real) };
}
