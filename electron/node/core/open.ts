// The one place an image file is opened: held first (O_PATH, which reaches no driver), checked to
// be the very regular file lstat saw (a folder swapped for a link to /dev mid-way holds another
// inode and stops here), and only then opened for reading, without blocking.
import * as fs from 'node:fs';
import type { FileStat } from '../../../shared/model.js';
import { escapeBytes, isValidUtf8 } from '../../../shared/escape.js';
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

/**
 * A path as the kernel takes it: text (UTF-8), or the very bytes of a name that is not valid
 * UTF-8 (a header may name one; qemu and libvirt open it by those bytes).
 */
export type FsPath = string | Buffer;

/** `bytes` as a path: text when it is valid UTF-8 (so the folder cache serves it), else the bytes. */
export function fsPath(bytes: Buffer): FsPath {
  return isValidUtf8(bytes) ? bytes.toString('utf8') : bytes;
}

/** A path for messages: the bytes that are not UTF-8 shown as `\xNN`. */
export function pathText(p: FsPath): string {
  return typeof p === 'string' ? p : escapeBytes(p);
}

/** Open `real` (lstat'ed as `st`) and hand its bounded source to `fn`; the descriptor is always closed. */
export function withImage<T>(real: FsPath, st: fs.Stats, fn: (src: ImageSource) => T): T {
  const { fd, size } = openRegular(real, st);
  return readFd(fd, size, fn);
}

/** `fn` over the bounded source of `fd` (`size` bytes) and `fd` itself, which is closed after. */
function readFd<T>(fd: number, size: number, fn: (src: ImageSource, fd: number) => T): T {
  try {
    return fn(fdSource(fd, size), fd);
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
function openRegular(real: FsPath, st: fs.Stats): { fd: number; size: number } {
  const what = pathText(real);
  let held;
  try {
    // A byte path is held here with walk.ts's flags (O_PATH | O_NOFOLLOW): walk.ts takes text.
    held = typeof real === 'string' ? holdForReading(real) : holdPath(real);
  } catch (e) {
    throw new FileChangedError(`${what} changed while it was being read (${(e as Error).message})`);
  }
  if (held.st.dev !== st.dev || held.st.ino !== st.ino || !held.st.isFile()) {
    fs.closeSync(held.fd);
    throw new FileChangedError(`${what} changed while it was being read`);
  }
  const size = held.st.size;
  return { fd: openHeld(held, what), size };
}

/**
 * Open a file a header names for reading (a VMDK extent) with the same care as an image: resolve
 * it, lstat it, refuse what is not a regular file. Null when it does not exist. The caller closes.
 */
export function openNamed(name: FsPath): { src: ImageSource; close: () => void } | null {
  let real: FsPath;
  try {
    real = realPath(name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const st = fs.lstatSync(real);
  const refused = refuseType(fileType(st));
  if (refused) throw new HeaderError(`Could not open '${pathText(name)}': it is ${refused.what}; diskchain never opens one`);
  const { fd, size } = openRegular(real, st);
  return { src: fdSource(fd, size), close: () => fs.closeSync(fd) };
}

/** realpath(3) of a text or byte path, in the same form. */
function realPath(p: FsPath): FsPath {
  return typeof p === 'string' ? fs.realpathSync.native(p) : fs.realpathSync.native(p, { encoding: 'buffer' });
}

/**
 * `joined` with its folder replaced by the folder's real path, cached in `dirs`: a pool of
 * thousands of images in one folder resolves that folder once, not once per file (realpath(3)
 * readlinks every component). Null when the last component is `.`, `..` or empty: then only a
 * full realpath will do.
 */
function viaRealFolder(joined: string, dirs: Map<string, string>): string | null {
  const slash = joined.lastIndexOf('/');
  const base = joined.slice(slash + 1);
  if (slash < 0 || base === '' || base === '.' || base === '..') return null;
  const dir = slash === 0 ? '/' : joined.slice(0, slash);
  let rdir = dirs.get(dir);
  if (rdir === undefined) {
    rdir = fs.realpathSync.native(dir);
    dirs.set(dir, rdir);
  }
  return rdir === '/' ? `/${base}` : `${rdir}/${base}`;
}

/**
 * realpath + lstat in one step, with the folders' real paths cached (see viaRealFolder). Falls
 * back to a full realpath when the last component is a link or `.`/`..`.
 * Throws the errno errors realpath and lstat throw.
 */
export function resolveFile(joined: string, dirs: Map<string, string>): { real: string; st: fs.Stats };
export function resolveFile(joined: FsPath, dirs: Map<string, string>): { real: FsPath; st: fs.Stats };
export function resolveFile(joined: FsPath, dirs: Map<string, string>): { real: FsPath; st: fs.Stats } {
  // Names that are not UTF-8 are rare: they take the full realpath, uncached.
  const candidate = typeof joined === 'string' ? viaRealFolder(joined, dirs) : null;
  if (candidate !== null) {
    const st = fs.lstatSync(candidate);
    if (!st.isSymbolicLink()) return { real: candidate, st };
  }
  const real = realPath(joined);
  return { real, st: fs.lstatSync(real) };
}

// As native/walk.ts holds files: O_PATH (Node has no constant for it; this is its value on every
// Linux architecture but alpha/sparc/parisc) reaches the inode without opening it for reading,
// so no driver is reached, and O_NOFOLLOW holds a trailing link as the link itself.
//
// Why each image costs two opens (hold, then reopen through /proc/self/fd) where a bare reader
// makes one, open(O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY) then fstat:
// - Opening a device node runs its driver's open, which acts whatever the flags: a tape drive
//   rewinds on close, a modem's line is raised, a tty may become the controlling one without
//   O_NOCTTY. O_NONBLOCK only stops the open from waiting (it makes a FIFO harmless, not a
//   device). An fstat after the open comes too late: the driver already ran.
// - An unprivileged user cannot mknod, but can hard-link a device node they may read or write
//   that lies on the same file system (a chroot's or container's /dev/tty, 0666), or swap a
//   folder on the way for a link to /dev (only the last component has O_NOFOLLOW).
// - An lstat (or a listing's d_type) first, then the open and a dev/ino check, does not close
//   this: the name can be renamed over between the lstat and the open, and the check, again,
//   follows the driver's open. The scan's listing has the same gap, and its workers get names only.
// Only a descriptor that reaches no driver can be checked before anything is opened: O_PATH. Its
// fstat says what the inode is; /proc/self/fd/N then opens that very inode, not the name again.
// Measured here (in C, page cache warm, with the pread and flistxattr) the held sequence costs
// about 2 us a file more than the bare one (7 us against 5 us): a scan's cost is not there.
const HOLD = 0o10000000 | fs.constants.O_NOFOLLOW | 0o2000000;

/**
 * A file reached by name and held: its real path, what fstat of the held descriptor says (as an
 * lstat would: a link is the link), and the O_PATH descriptor, -1 once released or reopened.
 */
export interface HeldFile {
  real: string;
  st: fs.Stats;
  fd: number;
}

function holdPath<P extends FsPath>(real: P): { real: P; st: fs.Stats; fd: number } {
  const fd = fs.openSync(real, HOLD);
  try {
    return { real, st: fs.fstatSync(fd), fd };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/**
 * resolveFile, holding the file instead of lstat'ing it: what is stat'ed is then the very inode a
 * later readHeldFile reads, with no second stat to compare. The caller releases it
 * (releaseFile). Throws the errno errors realpath and open throw.
 */
export function holdFile(joined: string, dirs: Map<string, string>): HeldFile {
  const candidate = viaRealFolder(joined, dirs);
  if (candidate !== null) {
    const held = holdPath(candidate);
    if (!held.st.isSymbolicLink()) return held;
    fs.closeSync(held.fd);
  }
  return holdPath(fs.realpathSync.native(joined));
}

export function releaseFile(f: HeldFile): void {
  if (f.fd < 0) return;
  fs.closeSync(f.fd);
  f.fd = -1;
}

/**
 * Open a held file for reading (it must be a regular file: see refuseType) and hand its bounded
 * source and the descriptor read (for its xattrs) to `fn`. The O_PATH descriptor is released; the
 * one read is always closed.
 */
export function readHeldFile<T>(f: HeldFile, fn: (src: ImageSource, fd: number) => T): T {
  const held = { fd: f.fd, st: f.st };
  f.fd = -1;
  return readFd(openHeld(held, f.real), f.st.size, fn);
}
