// Files a root process will run or trust: only root may be able to change them, nor any folder
// on their way (a folder writable by someone else lets them swap what it holds).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Why `p` (resolved to its real path) or a folder above it could be changed by someone else than root, or null. */
export function notRootOnly(p: string): string | null {
  let real: string;
  try {
    real = fs.realpathSync.native(p);
  } catch (e) {
    return `${p}: ${(e as Error).message}`;
  }
  // The real path has no symbolic link left, so each of its folders is one to check.
  for (let at = real; ; at = path.dirname(at)) {
    const st = fs.lstatSync(at);
    const where = at === real && real !== p ? `${at} (the real path of ${p})` : at;
    if (st.uid !== 0) return `${where} is owned by uid ${st.uid}, not root`;
    if (st.mode & 0o022)
      return `${where} is writable by its ${st.mode & 0o020 ? 'group' : 'others'} (mode ${(st.mode & 0o7777).toString(8)})`;
    if (at === '/') return null;
  }
}

/** Throw unless `p` and every folder above it can be changed by root only. */
export function requireRootOnly(p: string, what: string): void {
  const why = notRootOnly(p);
  if (why) throw new Error(`${what} must be changeable by root only, but ${why}`);
}

/**
 * Write `data` to `dest` as root with `mode`, atomically: a new file (never through a link or
 * into an existing file) renamed over the old one.
 */
export function writeRootFile(dest: string, data: string | Uint8Array, mode: number): void {
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, data);
    fs.fchownSync(fd, 0, 0);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, dest);
}

/** Make folder `dir` (root, 0755) unless it is there; true when it was made. */
export function makeRootDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (!fs.lstatSync(dir).isDirectory()) throw new Error(`${dir} is there and is not a folder`);
    return false;
  }
  fs.chownSync(dir, 0, 0);
  fs.chmodSync(dir, 0o755);
  return true;
}
