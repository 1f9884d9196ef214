// The walk the kernel makes when qemu opens a path: every component looked up in its folder
// (which needs search permission there), symbolic links followed wherever they are, at most 40
// of them (MAXSYMLINKS), as openat(2) does. Only lstat and readlink: nothing is opened.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BlockerKind, SymlinkStep } from '../../../shared/access.js';

/** The kernel's MAXSYMLINKS. */
export const MAX_LINKS = 40;
/** PATH_MAX: a longer name is refused before it is walked. */
export const MAX_PATH = 4096;

export interface WalkResult {
  /** Folders the kernel looks a name up in, in order, each once; symlink-free paths. */
  folders: string[];
  symlinks: SymlinkStep[];
  /** The file reached (symlink-free path) and its lstat, or null when the walk stopped. */
  final: string | null;
  stat: fs.Stats | null;
  /** Why the walk stopped short. */
  error: { kind: BlockerKind; path: string; message: string } | null;
}

function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** fs.protected_symlinks (0 when unreadable: then no restriction is assumed). */
export function protectedSymlinks(): boolean {
  try {
    return fs.readFileSync('/proc/sys/fs/protected_symlinks', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Walk `name` (absolute) as the kernel does for a process with uid `uid`. `protect`: apply
 * fs.protected_symlinks (a link in a sticky world-writable folder is followed only by its owner
 * or when the folder's owner owns the link).
 */
export function walkPath(name: string, uid: number, protect = protectedSymlinks()): WalkResult {
  const out: WalkResult = { folders: [], symlinks: [], final: null, stat: null, error: null };
  if (!path.isAbsolute(name)) {
    out.error = { kind: 'missing', path: name, message: `${name} is not an absolute path` };
    return out;
  }
  if (name.length > MAX_PATH) {
    out.error = { kind: 'missing', path: name.slice(0, 80) + '…', message: `the name is longer than ${MAX_PATH} bytes (ENAMETOOLONG)` };
    return out;
  }
  const seen = new Set<string>();
  const searched = (dir: string) => {
    if (!seen.has(dir)) {
      seen.add(dir);
      out.folders.push(dir);
    }
  };
  let pending = components(name);
  let cur = '/';
  let links = 0;
  while (pending.length) {
    const comp = pending.shift()!;
    if (comp === '..') {
      // The parent was searched on the way down: cur is always reached from / without links.
      searched(cur);
      cur = path.dirname(cur);
      continue;
    }
    searched(cur);
    const next = cur === '/' ? `/${comp}` : `${cur}/${comp}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(next);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      out.error =
        code === 'ENOENT'
          ? { kind: 'missing', path: next, message: `${next} does not exist` }
          : code === 'ENOTDIR'
            ? { kind: 'not-folder', path: cur, message: `${cur} is not a folder` }
            : { kind: 'unreadable', path: next, message: `${next} cannot be examined (${code ?? (e as Error).message})` };
      return out;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) {
        out.error = { kind: 'symlink-loop', path: next, message: `more than ${MAX_LINKS} symbolic links on the way to ${name} (ELOOP)` };
        return out;
      }
      let target: string;
      try {
        target = fs.readlinkSync(next);
      } catch (e) {
        out.error = {
          kind: 'unreadable',
          path: next,
          message: `${next} cannot be read as a link (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        };
        return out;
      }
      out.symlinks.push({ path: next, target, uid: st.uid });
      if (protect) {
        const dir = fs.lstatSync(cur);
        const stickyWorldWritable = (dir.mode & 0o1002) === 0o1002;
        if (stickyWorldWritable && uid !== st.uid && dir.uid !== st.uid) {
          out.error = {
            kind: 'protected-symlink',
            path: next,
            message: `${next} is a link owned by uid ${st.uid} in the sticky world-writable folder ${cur} (owner ${dir.uid}): fs.protected_symlinks stops uid ${uid} from following it`,
          };
          return out;
        }
      }
      if (target.length === 0 || target.length > MAX_PATH) {
        out.error = { kind: 'missing', path: next, message: `${next} is a link with an empty or overlong target` };
        return out;
      }
      pending = [...components(target), ...pending];
      if (target.startsWith('/')) cur = '/';
      continue;
    }
    if (pending.length) {
      if (!st.isDirectory()) {
        out.error = { kind: 'not-folder', path: next, message: `${next} is not a folder` };
        return out;
      }
      cur = next;
      continue;
    }
    out.final = next;
    out.stat = st;
  }
  if (!out.final) {
    // The name ended in a folder (`/`, `..`): qemu would be opening a folder.
    out.final = cur;
    out.stat = fs.lstatSync(cur);
  }
  return out;
}
