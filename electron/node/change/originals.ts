// diskchain's own memory of the owner and SELinux label a top image or its data file had before
// diskchain relabelled it. libvirt deletes its trusted.libvirt.security.* records of every image
// of a chain when a VM stops, even when another holder (a diskchain relabel) still counts on them:
// the file keeps the VM's owner with no record, and a restore would fall back to root:root. The
// restore planner falls back to this memory instead, for the very file (device, inode and path)
// diskchain changed. Kept beside the journal, with the journal's checks: root's folder, 0600.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Plan } from '../../../shared/plan.js';
import { parseOwnership } from '../libvirt/owner.js';
import { acquireLock, checkStateDir, ensureDir, journalDir } from './journal.js';
import { LIBVIRT_PREFIX, SELINUX_XATTR, xattrText, type RawChange, type RawState } from './state.js';

export interface Labels {
  uid: number;
  gid: number;
  selinux: string | null;
}

export interface Original extends Labels {
  dev: number;
  ino: number;
  path: string;
  /** What diskchain left on the file: the memory is kept across relabels only while the file still has it. */
  set: Labels;
}

const FILE = 'originals.json';
const VERSION = 1;
const MAX_BYTES = 8 * 1024 * 1024;
const MAX_ENTRIES = 20_000;
const MAX_TEXT = 4096;

export function originalsFile(dir = journalDir()): string {
  return path.join(dir, FILE);
}

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT;

function validLabels(x: unknown): x is Labels {
  const l = x as Labels;
  return typeof l === 'object' && l !== null && isId(l.uid) && isId(l.gid) && (l.selinux === null || isText(l.selinux));
}

function validOriginal(x: unknown): x is Original {
  const o = x as Original;
  return validLabels(o) && isId(o.dev) && isId(o.ino) && isText(o.path) && path.isAbsolute(o.path) && validLabels(o.set);
}

/** The remembered originals; [] when there are none. Throws when the file is unsafe or malformed. */
export function readOriginals(dir = journalDir()): Original[] {
  checkStateDir(dir);
  let fd: number;
  try {
    fd = fs.openSync(originalsFile(dir), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`${originalsFile(dir)} is not a regular file`);
    if (st.size > MAX_BYTES) throw new Error(`${originalsFile(dir)} is larger than ${MAX_BYTES} bytes`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== uid) throw new Error(`${originalsFile(dir)} is owned by uid ${st.uid}, not ${uid}`);
    if (st.mode & 0o077) throw new Error(`${originalsFile(dir)} may be read or written by others`);
    const doc = JSON.parse(fs.readFileSync(fd, 'utf8')) as { v?: unknown; files?: unknown };
    if (doc?.v !== VERSION || !Array.isArray(doc.files) || doc.files.length > MAX_ENTRIES || !doc.files.every(validOriginal))
      throw new Error(`${originalsFile(dir)} is not a list of original labels diskchain wrote`);
    return doc.files;
  } finally {
    fs.closeSync(fd);
  }
}

/** Replace the file whole (written aside, synced, renamed), 0600. */
function writeOriginals(dir: string, files: Original[]): void {
  ensureDir(dir);
  const tmp = `${originalsFile(dir)}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify({ v: VERSION, files }));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, originalsFile(dir));
}

/** One file's key: device and inode are numbers, so the first two colons end them. */
function fileKey(dev: number, ino: number, filePath: string): string {
  return `${dev}:${ino}:${filePath}`;
}

/**
 * The memories by file, for lookups in plans of thousands of files (a search of the list per file
 * made a restore of 9,000 tops cost seconds).
 */
export type OriginalsIndex = ReadonlyMap<string, Original>;

export function indexOriginals(list: readonly Original[]): OriginalsIndex {
  return new Map(list.map((o) => [fileKey(o.dev, o.ino, o.path), o]));
}

/** The memory of the file `state` is, at `filePath`; null when diskchain has none. */
export function findOriginal(index: OriginalsIndex, filePath: string, state: Pick<RawState, 'dev' | 'ino'>): Original | null {
  return index.get(fileKey(state.dev, state.ino, filePath)) ?? null;
}

function labelsOf(s: RawState): Labels {
  return { uid: s.uid, gid: s.gid, selinux: xattrText(s.xattrs[SELINUX_XATTR]) };
}

/** The original as libvirt remembers it after the relabel (its record), else the state before it. */
function originalOf(c: RawChange): Labels {
  const before = labelsOf(c.from);
  const dac = xattrText(c.to.xattrs[`${LIBVIRT_PREFIX}dac`]);
  let owner = { uid: before.uid, gid: before.gid };
  if (dac !== null) {
    try {
      owner = parseOwnership(dac);
    } catch {
      // An unreadable record: the state before this relabel is the best we know.
    }
  }
  return { ...owner, selinux: xattrText(c.to.xattrs[`${LIBVIRT_PREFIX}selinux`]) ?? before.selinux };
}

function sameLabels(a: Labels, b: Labels): boolean {
  return a.uid === b.uid && a.gid === b.gid && a.selinux === b.selinux;
}

/**
 * After a committed relabel or restore: remember the originals of the top files a relabel changed
 * (an earlier memory is kept while the file still has what diskchain gave it), or forget the
 * files a restore gave back (not those another VM still uses).
 */
export function noteOriginals(plan: Plan, changes: readonly RawChange[], dir = journalDir()): void {
  const release = acquireLock(dir);
  try {
    let list = readOriginals(dir);
    if (plan.action === 'restore') {
      const done = new Set(
        plan.entries.filter((e) => e.target && e.top && !e.remembered).map((e) => fileKey(e.before.dev, e.before.ino, e.path)),
      );
      list = list.filter((o) => !done.has(fileKey(o.dev, o.ino, o.path)));
    } else {
      const tops = new Set(plan.entries.filter((e) => e.target && e.top).map((e) => e.path));
      const at = new Map(list.map((o, i) => [fileKey(o.dev, o.ino, o.path), i]));
      for (const c of changes) {
        if (!tops.has(c.path)) continue;
        const set = labelsOf(c.to);
        const key = fileKey(c.from.dev, c.from.ino, c.path);
        const i = at.get(key);
        const keep = i !== undefined && sameLabels(list[i]!.set, labelsOf(c.from));
        const entry: Original = { ...(keep ? list[i]! : originalOf(c)), dev: c.from.dev, ino: c.from.ino, path: c.path, set };
        if (i !== undefined) list[i] = entry;
        else at.set(key, list.push(entry) - 1);
      }
      // Oldest first out: a bounded file, and the oldest memories are the least likely still needed.
      if (list.length > MAX_ENTRIES) list = list.slice(list.length - MAX_ENTRIES);
    }
    writeOriginals(dir, list);
  } finally {
    release();
  }
}
