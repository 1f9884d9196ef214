// Reaching a file the way a root process must when users own the folders it works in: from a
// folder's descriptor, never through a symbolic link, never onto another mount, and without
// opening anything for reading before its type is known (an O_PATH descriptor reaches no driver).
// openat2(RESOLVE_BENEATH|NO_SYMLINKS|NO_MAGICLINKS|NO_XDEV) where the kernel has it, else a
// walk one component at a time with O_PATH|O_NOFOLLOW.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RESOLVE, mountId, openat, openat2 } from './libc.js';

// Node does not export O_PATH; this is its value on every Linux architecture but alpha/sparc/parisc.
const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;
const HOLD = O_PATH | fs.constants.O_NOFOLLOW | O_CLOEXEC;
const REOPEN = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;

/** Why a walk stopped, as an errno-like code and a sentence for the user. */
export class WalkError extends Error {
  constructor(
    readonly code: 'ELOOP' | 'EXDEV' | 'ENOENT' | 'ENOTDIR' | 'EACCES' | 'EOUTSIDE' | 'ETYPE' | 'EOTHER',
    message: string,
  ) {
    super(message);
  }
}

/** A folder held open (O_PATH) that files are reached from. */
export interface Root {
  path: string;
  fd: number;
  dev: number;
  ino: number;
  mount: number | null;
}

/** What a walk reached: an O_PATH descriptor and what fstat says it is. */
export interface Held {
  fd: number;
  st: fs.Stats;
}

function translate(e: unknown, what: string): WalkError {
  if (e instanceof WalkError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ELOOP':
      return new WalkError('ELOOP', `${what} is reached through a symbolic link`);
    case 'EXDEV':
      return new WalkError('EXDEV', `${what} lies on another mount than its allowed folder (a bind mount?)`);
    case 'ENOENT':
      return new WalkError('ENOENT', `${what} does not exist`);
    case 'ENOTDIR':
      return new WalkError('ENOTDIR', `${what}: a part of its path is not a folder`);
    case 'EACCES':
    case 'EPERM':
      return new WalkError('EACCES', `${what} cannot be read: permission denied`);
    default:
      return new WalkError('EOTHER', `${what} cannot be reached (${code ?? (e as Error).message})`);
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** One component at a time from `dirfd`: each must be a folder but the last, none a link, all on `mount` when given. */
function walkComponents(dirfd: number, parts: string[], mount: number | null | undefined): number {
  let cur = dirfd;
  let owned = false;
  try {
    for (let i = 0; i < parts.length; i++) {
      const next = openat(cur, parts[i]!, HOLD);
      if (owned) closeQuietly(cur);
      cur = next;
      owned = true;
      const st = fs.fstatSync(cur);
      if (st.isSymbolicLink()) throw Object.assign(new Error('link'), { code: 'ELOOP' });
      if (i < parts.length - 1 && !st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
      if (mount !== undefined && mount !== null && mountId(cur) !== mount) throw Object.assign(new Error('mount'), { code: 'EXDEV' });
    }
    owned = false;
    return cur;
  } finally {
    if (owned) closeQuietly(cur);
  }
}

const NOT_PLAIN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;

function components(rel: string): string[] {
  if (rel === '') return [];
  if (NOT_PLAIN.test(rel)) throw new WalkError('EOTHER', `'${rel}' is not a plain path`);
  return rel.split('/');
}

/**
 * Hold `rel` beneath `dirfd` (O_PATH): no link followed, nothing above `dirfd` reached, and with
 * `mount` given, no other mount entered. A trailing link is held as the link itself.
 */
function holdBeneath(dirfd: number, rel: string, mount: number | null | undefined, what: string): Held {
  const parts = components(rel);
  let fd: number;
  try {
    const resolve = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS | (mount === undefined ? 0 : RESOLVE.NO_XDEV);
    fd = (parts.length ? openat2(dirfd, rel, HOLD, resolve) : null) ?? walkComponents(dirfd, parts, mount);
  } catch (e) {
    throw translate(e, what);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isSymbolicLink()) throw new WalkError('ELOOP', `${what} is a symbolic link`);
    // The mount needs no second look: openat2's RESOLVE_NO_XDEV refused any crossing, and the
    // component walk compared each component's statx mount id with the root's.
    return { fd, st };
  } catch (e) {
    closeQuietly(fd);
    throw translate(e, what);
  }
}

let slash: number | null = null;

/** Hold an absolute path from `/`, following no link on the way (any mount may be crossed). */
export function holdAbsolute(abs: string): Held {
  if (!path.isAbsolute(abs)) throw new WalkError('EOTHER', `${abs} is not an absolute path`);
  slash ??= fs.openSync('/', HOLD | fs.constants.O_DIRECTORY);
  if (abs === '/') return { fd: fs.openSync('/', HOLD | fs.constants.O_DIRECTORY), st: fs.statSync('/') };
  return holdBeneath(slash, abs.slice(1), undefined, abs);
}

/**
 * Hold a path for reading only (inspection): links on the way are followed as any reader
 * follows them, a trailing link is held as the link, and what is held is only reached, not
 * opened, so a device or FIFO is never opened whatever the path leads to. Changes never use
 * this: they reach files from a root (holdInRoot).
 */
export function holdForReading(abs: string): Held {
  let fd: number;
  try {
    fd = fs.openSync(abs, HOLD);
  } catch (e) {
    throw translate(e, abs);
  }
  try {
    return { fd, st: fs.fstatSync(fd) };
  } catch (e) {
    closeQuietly(fd);
    throw translate(e, abs);
  }
}

/** Open an allowed folder by its real path: a folder, reached with no link on the way. */
export function openRoot(real: string): Root {
  const h = holdAbsolute(real);
  if (!h.st.isDirectory()) {
    closeQuietly(h.fd);
    throw new WalkError('ENOTDIR', `${real} is not a folder`);
  }
  return { path: real, fd: h.fd, dev: h.st.dev, ino: h.st.ino, mount: mountId(h.fd) };
}

export function closeRoot(r: Root): void {
  closeQuietly(r.fd);
}

/** Hold `real` (an absolute path inside `root`) beneath the root: same mount, no link. */
export function holdInRoot(root: Root, real: string): Held {
  const prefix = root.path === '/' ? '/' : root.path + '/';
  if (!real.startsWith(prefix) || real.length === prefix.length) throw new WalkError('EOUTSIDE', `${real} is not inside ${root.path}`);
  return holdBeneath(root.fd, real.slice(prefix.length), root.mount, real);
}

/**
 * Open what `held` holds for reading, now that its type is known: through /proc/self/fd, which
 * reaches exactly the held inode, checked again after the open. The held descriptor is closed.
 */
export function openHeld(held: Held, what: string): number {
  try {
    const want = held.st.isDirectory() ? 'folder' : held.st.isFile() ? 'file' : null;
    if (!want) throw new WalkError('ETYPE', `${what} is not a regular file or folder`);
    // /proc/self/fd/N of an O_PATH descriptor is the held inode itself, not a path looked up
    // again: what opens is what was checked, so no second fstat is needed.
    return fs.openSync(`/proc/self/fd/${held.fd}`, REOPEN | (want === 'folder' ? fs.constants.O_DIRECTORY : 0));
  } catch (e) {
    throw translate(e, what);
  } finally {
    closeQuietly(held.fd);
  }
}
