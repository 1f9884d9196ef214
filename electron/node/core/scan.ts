// Scan folders: every file read once (images found by their headers, not their names), then the
// references between them turned into a forest: tops, shared bases, data files, orphans, chains.
// The index stays in memory after the scan, so a watcher can hand it the paths that changed: only
// those files are read again; references are re-resolved from the names kept in memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChainNode, Problem } from '../../../shared/model.js';
import {
  BREAKING,
  type ForestChange,
  type ScanResult,
  type ScannedChain,
  type ScannedFile,
  type ScanSummary,
} from '../../../shared/scan.js';
import { childPending, topPending, visit, type Pending } from './chain.js';
import type { ChildName } from './formats/types.js';
import { resolveFile } from './open.js';

/** Folders deeper than this below a scanned root are not entered. */
const MAX_FOLDER_DEPTH = 32;
/** A scan stops listing after this many entries (a safety net against runaway trees). */
const MAX_ENTRIES = 2_000_000;
/** Progress is reported (and cancellation checked) every this many files. */
const PROGRESS_EVERY = 128;
/** A loop's problem names at most this many of its files. */
const LOOP_NAMED = 4;

export interface ScanOptions {
  /** Called now and then with the files read so far; return false to cancel. */
  progress?: (done: number, total: number) => boolean | void;
}

export class ScanCancelled extends Error {}

type Role = 'backing' | 'dataFile';
const ROLES: readonly Role[] = ['backing', 'dataFile'];

interface Entry {
  file: ScannedFile;
  /** The path it was found or named by: relative names join to this, as qemu and libvirt do. */
  joinedFrom: string;
  names: Record<Role, ChildName | null>;
  /** Problems of the file itself (the header, the stat); reference problems are added on top. */
  own: Problem[];
  /** `own` and the reference problems: all but a loop's, which depends on the other files. */
  resolved: Problem[];
}

/** Every regular file (or symlink to one) below the roots, and the folders entered. */
export function listTree(roots: string[]): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  const stack: Array<[string, number]> = roots.map((r) => [path.resolve(r), 0]);
  let seen = 0;
  while (stack.length) {
    const [dir, depth] = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    dirs.push(dir);
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return { files: files.sort(), dirs };
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (depth < MAX_FOLDER_DEPTH) stack.push([p, depth + 1]);
      } else if (e.isFile() || e.isSymbolicLink()) {
        files.push(p);
      }
    }
  }
  return { files: files.sort(), dirs };
}

/** Every regular file (or symlink to one) below the roots, without entering symlinked folders. */
export function listFiles(roots: string[]): string[] {
  return listTree(roots).files;
}

function toScanned(node: ChainNode, external: boolean): ScannedFile {
  return {
    path: node.path,
    format: node.format,
    external,
    isImage: node.header !== null && node.format !== 'raw' && node.format !== 'iso',
    virtualSize: node.header?.virtualSize ?? null,
    size: node.stat?.size ?? null,
    allocated: node.stat?.allocated ?? null,
    owner: node.owner,
    selinux: node.selinux,
    remembered: node.remembered,
    backing: null,
    dataFile: null,
    usedBy: [],
    problems: node.problems,
    ...(node.header?.snapshots?.length ? { snapshots: node.header.snapshots.length } : {}),
  };
}

/** The problem of a file on a backing loop, `loop` holding the loop's files in backing order. */
function loopProblem(file: string, loop: readonly string[]): Problem {
  const from = loop.indexOf(file);
  const order = [...loop.slice(from), ...loop.slice(0, from), file];
  const names = order.length > LOOP_NAMED + 1 ? [...order.slice(0, LOOP_NAMED), '…', file] : order;
  return {
    code: 'loop',
    message: `the backing files of ${file} lead back to it (${names.join(' → ')}): qemu cannot open it`,
  };
}

function resolveTarget(joined: string, dirs: Map<string, string>): string | null {
  try {
    return resolveFile(joined, dirs).real;
  } catch {
    return null;
  }
}

function isUnder(p: string, dir: string): boolean {
  return p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/**
 * The scanned files of some folders, kept up to date by `update(paths)`. `reads` counts header
 * reads since it was made: what a watcher's update costs is visible (and testable).
 */
export class ForestIndex {
  readonly roots: string[];
  /** Header reads (file visits) since the index was made. */
  reads = 0;
  private readonly byPath = new Map<string, Entry>();
  /** Each listed path under the roots → the real path it was read as. */
  private readonly listed = new Map<string, string>();
  private dirs = new Map<string, string>();
  private readonly readNow: string[] = [];

  constructor(roots: string[]) {
    this.roots = roots.map((r) => path.resolve(r));
  }

  /** The roots as real paths now (those that still exist). */
  private realRoots(): string[] {
    const out: string[] = [];
    for (const root of this.roots) {
      try {
        out.push(fs.realpathSync.native(root));
      } catch {
        // A root that is gone holds nothing to read.
      }
    }
    return out;
  }

  /** Whether `p`'s folder, symbolic links resolved, is a root or below one (`realRoots`). */
  private reallyBelowRoots(p: string, realRoots: readonly string[]): boolean {
    if (this.roots.includes(p)) return true;
    let dir: string;
    try {
      dir = fs.realpathSync.native(path.dirname(p));
    } catch {
      return false;
    }
    return realRoots.some((r) => dir === r || isUnder(dir, r));
  }

  /** List and read everything below the roots. Returns the folders entered (for a watcher). */
  scanAll(opts: ScanOptions = {}): string[] {
    const { files: names, dirs } = listTree(this.roots);
    for (let i = 0; i < names.length; i++) {
      if (opts.progress && i % PROGRESS_EVERY === 0 && opts.progress(i, names.length) === false) throw new ScanCancelled('scan cancelled');
      this.readListed(names[i]!);
    }
    opts.progress?.(names.length, names.length);
    // Resolve references; files named from outside the roots are read too (they are part of chains).
    for (const entry of [...this.byPath.values()]) this.resolve(entry);
    this.markLoops();
    this.rebuildUsedBy();
    return dirs;
  }

  private read(p: Pending, external: boolean, replace = false): Entry | null {
    this.reads++;
    const { node, parsed } = visit(p, { seen: new Map(), dirs: this.dirs });
    if (node.stat === null && !external) return null; // gone since it was listed
    this.readNow.push(node.path);
    const old = this.byPath.get(node.path);
    if (old && !replace) {
      if (!external) old.file.external = false;
      return old;
    }
    this.touch(node.path);
    // What the old record named may lose a user.
    if (old) this.touchRefs(old);
    const entry: Entry = {
      file: toScanned(node, external && !(old && !old.file.external)),
      joinedFrom: p.joined,
      names: { backing: parsed?.backing ?? null, dataFile: parsed?.dataFile ?? null },
      own: [...node.problems],
      resolved: [...node.problems],
    };
    this.byPath.set(node.path, entry);
    return entry;
  }

  private readListed(p: string, replace = false): Entry | null {
    const entry = this.read(topPending(p), false, replace);
    if (entry) this.listed.set(p, entry.file.path);
    else this.listed.delete(p);
    return entry;
  }

  /** Point an entry's backing and data file at the files they name, reading outside ones once. */
  private resolve(entry: Entry): void {
    const problems = [...entry.own];
    const scratch = { path: entry.file.path, problems };
    const pending = topPending(entry.joinedFrom);
    for (const role of ROLES) {
      entry.file[role] = null;
      const child = entry.names[role];
      if (!child) continue;
      const cp = childPending(scratch, pending, child, role === 'backing' ? 'backing' : 'data-file');
      if (!cp) continue;
      const target = cp.nameInfo?.kind === 'file' ? resolveTarget(cp.joined, this.dirs) : null;
      let ref = target ? this.byPath.get(target) : undefined;
      if (!ref && target) ref = this.read(cp, true) ?? undefined;
      entry.file[role] = ref ? ref.file.path : cp.name;
      if (ref) continue;
      const kind = cp.nameInfo?.kind ?? 'file';
      const what = role === 'backing' ? 'backing file' : 'data file';
      problems.push(
        kind === 'file'
          ? { code: 'missing', message: `${what} ${cp.joined} (named '${cp.name}' in ${entry.file.path}) does not exist` }
          : { code: kind, message: `${what} '${cp.name}' of ${entry.file.path} is a ${kind} name; it is never opened` },
      );
    }
    entry.resolved = problems;
    entry.file.problems = problems;
  }

  /**
   * Files whose backing files lead back to themselves: each gets a `loop` problem (qemu cannot
   * open any of them). Every file is walked once; a walk stops at what an earlier walk saw.
   */
  private markLoops(): void {
    const inLoop = new Map<string, string[]>();
    const done = new Set<string>();
    for (const start of this.byPath.keys()) {
      const walk: string[] = [];
      const at = new Map<string, number>();
      for (let cur: string | null = start; cur && !done.has(cur);) {
        const i = at.get(cur);
        if (i !== undefined) {
          const loop = walk.slice(i);
          for (const p of loop) inLoop.set(p, loop);
          break;
        }
        at.set(cur, walk.length);
        walk.push(cur);
        const next: string | null = this.byPath.get(cur)!.file.backing;
        cur = next !== null && this.byPath.has(next) ? next : null;
      }
      for (const p of walk) done.add(p);
    }
    for (const e of this.byPath.values()) {
      const loop = inLoop.get(e.file.path);
      const problems = loop ? [...e.resolved, loopProblem(e.file.path, loop)] : e.resolved;
      if (JSON.stringify(problems) === JSON.stringify(e.file.problems)) continue;
      this.touch(e.file.path);
      e.file.problems = problems;
    }
  }

  private rebuildUsedBy(): void {
    for (const e of this.byPath.values()) e.file.usedBy = [];
    for (const e of this.byPath.values()) {
      for (const role of ROLES) {
        const t = e.file[role];
        const ref = t ? this.byPath.get(t) : undefined;
        if (ref && !ref.file.usedBy.includes(e.file.path)) ref.file.usedBy.push(e.file.path);
      }
    }
    for (const e of this.byPath.values()) if (e.file.usedBy.length > 1) e.file.usedBy.sort();
  }

  /** During an update: each record as it was before the update first touched it. */
  private before: Map<string, string> | null = null;

  private touch(p: string | null): void {
    if (!p || !this.before || this.before.has(p)) return;
    const e = this.byPath.get(p);
    this.before.set(p, e ? JSON.stringify(e.file) : '');
  }

  private touchRefs(e: Entry): void {
    for (const r of ROLES) this.touch(e.file[r]);
  }

  /**
   * Files (or folders) below the roots changed: read exactly those again, re-resolve the
   * references that may now point elsewhere, and say which records changed.
   */
  update(paths: string[]): ForestChange {
    const before = (this.before = new Map());
    const readsBefore = this.reads;
    this.readNow.length = 0;
    // Folders may have been renamed or re-created: their real paths are looked up again.
    this.dirs = new Map();
    try {
      const todo = new Set<string>();
      const newDirs: string[] = [];
      const realRoots = this.realRoots();
      for (const raw of paths) {
        const p = path.resolve(raw);
        if (!this.roots.some((r) => p === r || isUnder(p, r))) continue;
        let st: fs.Stats | null = null;
        try {
          st = fs.lstatSync(p);
        } catch {
          st = null;
        }
        // inotify keeps naming a renamed folder by its old name: if a symbolic link now stands
        // where a folder was, the name leads elsewhere. Nothing existing is read unless its
        // folder really is below a root (a missing path is only dropped).
        if (st && !this.reallyBelowRoots(p, realRoots)) continue;
        if (st?.isDirectory()) {
          const t = listTree([p]);
          newDirs.push(...t.dirs);
          for (const f of t.files) todo.add(f);
        }
        if (!st || st.isDirectory()) {
          for (const l of this.listed.keys()) if (isUnder(l, p)) todo.add(l);
        }
        if (!st?.isDirectory()) todo.add(p);
      }

      // Re-read the changed paths; note what each was read as before.
      const dropped = new Set<string>();
      const reread = new Set<string>();
      for (const p of todo) {
        const was = this.listed.get(p);
        if (was) dropped.add(was);
        const entry = this.readListed(p, true);
        if (entry) reread.add(entry.file.path);
      }
      // A real path no listed path reads as any more is gone (unless an image still names it).
      const stillListed = new Set(this.listed.values());
      for (const real of dropped) {
        if (reread.has(real) || stillListed.has(real)) continue;
        const e = this.byPath.get(real);
        if (!e) continue;
        this.touch(real);
        this.touchRefs(e);
        this.byPath.delete(real);
      }

      // Re-resolve: the re-read entries, those naming anything that changed, and those naming
      // nothing found yet (a new file may be what they name).
      const changed = new Set([...dropped, ...reread]);
      for (const e of [...this.byPath.values()]) {
        const needs =
          reread.has(e.file.path) ||
          ROLES.some((r) => {
            const t = e.file[r];
            return t !== null && (changed.has(t) || !this.byPath.has(t));
          });
        if (!needs) continue;
        this.touch(e.file.path);
        this.touchRefs(e);
        this.resolve(e);
        this.touchRefs(e);
      }
      // Files read only because an image named them, and named by none now, leave the forest.
      const named = new Set<string>();
      for (const e of this.byPath.values()) for (const r of ROLES) if (e.file[r]) named.add(e.file[r]!);
      for (const e of [...this.byPath.values()]) {
        if (!e.file.external || named.has(e.file.path)) continue;
        this.touch(e.file.path);
        this.touchRefs(e);
        this.byPath.delete(e.file.path);
      }
      this.markLoops();
      this.rebuildUsedBy();

      const upsert: ScannedFile[] = [];
      const remove: string[] = [];
      for (const [p, old] of before) {
        const now = this.byPath.get(p);
        if (!now) {
          if (old) remove.push(p);
        } else if (JSON.stringify(now.file) !== old) {
          upsert.push(now.file);
        }
      }
      return { upsert, remove, reread: [...new Set(this.readNow)], reads: this.reads - readsBefore, newDirs, summary: this.summary() };
    } finally {
      this.before = null;
    }
  }

  files(): ScannedFile[] {
    return [...this.byPath.values()].map((e) => e.file);
  }

  result(): ScanResult {
    return summarize(this.roots, this.files());
  }

  summary(): ScanSummary {
    return summarize(this.roots, this.files()).summary;
  }
}

export function scan(roots: string[], opts: ScanOptions = {}): ScanResult {
  const index = new ForestIndex(roots);
  index.scanAll(opts);
  return index.result();
}

/** Tops, shared bases, orphans and chains, from the files' references alone (no file is read). */
export function summarize(roots: string[], files: ScannedFile[]): ScanResult {
  const by = new Map(files.map((f) => [f.path, f]));
  const dataFiles = new Set(files.filter((f) => f.dataFile && by.has(f.dataFile)).map((f) => f.dataFile!));
  const backingUsers = new Map<string, number>();
  for (const f of files) if (f.backing && by.has(f.backing)) backingUsers.set(f.backing, (backingUsers.get(f.backing) ?? 0) + 1);

  const tops = files.filter((f) => f.isImage && f.usedBy.length === 0).map((f) => f.path);
  const sharedBases = [...backingUsers]
    .filter(([, n]) => n >= 2)
    .map(([p]) => p)
    .sort();
  const orphans = files.filter((f) => !f.isImage && f.usedBy.length === 0 && !f.external).map((f) => f.path);

  const chains: ScannedChain[] = tops.map((top) => {
    const list: string[] = [];
    const visited = new Set<string>();
    let allocated = 0;
    let broken = false;
    for (
      let cur: ScannedFile | undefined = by.get(top);
      cur && !visited.has(cur.path);
      cur = cur.backing ? by.get(cur.backing) : undefined
    ) {
      visited.add(cur.path);
      list.push(cur.path);
      allocated += cur.allocated ?? 0;
      broken ||= cur.problems.some((p) => BREAKING.has(p.code)) || (cur.backing !== null && !by.has(cur.backing));
      const data = cur.dataFile ? by.get(cur.dataFile) : undefined;
      if (data) {
        list.push(data.path);
        allocated += data.allocated ?? 0;
        broken ||= data.problems.some((p) => BREAKING.has(p.code));
      }
    }
    return { top, files: list, allocated, broken };
  });

  return {
    roots: roots.map((r) => path.resolve(r)),
    files,
    tops,
    sharedBases,
    orphans,
    chains,
    summary: {
      files: files.filter((f) => !f.external).length,
      tops: tops.length,
      sharedBases: sharedBases.length,
      dataFiles: dataFiles.size,
      orphans: orphans.length,
      broken: chains.filter((c) => c.broken).length,
      problems: files.reduce((n, f) => n + f.problems.length, 0),
    },
  };
}
