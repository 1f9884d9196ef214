// The one place an image file is opened: only after lstat said it is a regular file, without
// following links and without blocking, then checked to be the very file that was lstat'ed.
import * as fs from 'node:fs';
import type { FileStat } from '../../shared/model.js';
import { HeaderError, fdSource, type ImageSource } from './source.js';

// Node adds O_CLOEXEC itself.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

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
    case 'file': return null;
    case 'block':
    case 'char': return { code: 'device', what: `a ${type} device` };
    case 'dir': return { code: 'not-regular', what: 'a folder' };
    case 'fifo': return { code: 'not-regular', what: 'a FIFO' };
    default: return { code: 'not-regular', what: `a ${type}` };
  }
}

export class FileChangedError extends Error {}

/** Open `real` (lstat'ed as `st`) and hand its bounded source to `fn`; the descriptor is always closed. */
export function withImage<T>(real: string, st: fs.Stats, fn: (src: ImageSource) => T): T {
  const fd = fs.openSync(real, OPEN_FLAGS);
  try {
    const fst = fs.fstatSync(fd);
    if (fst.dev !== st.dev || fst.ino !== st.ino || !fst.isFile()) {
      throw new FileChangedError(`${real} changed while it was being read`);
    }
    return fn(fdSource(fd, fst.size));
  } finally {
    fs.closeSync(fd);
  }
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
  const fd = fs.openSync(real, OPEN_FLAGS);
  const fst = fs.fstatSync(fd);
  if (fst.dev !== st.dev || fst.ino !== st.ino) {
    fs.closeSync(fd);
    throw new FileChangedError(`${real} changed while it was being read`);
  }
  return { src: fdSource(fd, fst.size), close: () => fs.closeSync(fd) };
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
