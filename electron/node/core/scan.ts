// Scan folders: every file read once (images found by their headers, not their names), then the
// references between them turned into a forest: tops, shared bases, data files, orphans, chains.
// The index stays in memory after the scan, so a watcher can hand it the paths that changed: only
// those files are read again; references are re-resolved from the names kept in memory.
//
// Files are read on worker threads, one per core (scan/pool.ts), in batches of BATCH_FILES listed
// paths; references are resolved on the scanning thread once every file is read, because a file's
// users and loops depend on all the others.
//
// Streaming (`scanStream`, for a UI that paints while a scan runs): `onBatch` is called
//   - with `{ final: false, files, done, total }` as each batch of listed files is read, in listed
//     order: copies of the records as read, each with its own problems, owner, labels, format and
//     sizes, but no references yet (`backing`/`dataFile` null, `usedBy` empty);
//   - then with `{ final: true, files, done, total }` batches whose files, concatenated, are the
//     final records, exactly `scan(roots).files` in the same order; the last has `done === total`.
// It returns the whole ScanResult, as `scan` does. Both kinds of batch are synchronous calls.
//
// Whole trees early (`onTrees`, for the app's forest): after each batch of listed files is read,
// the files whose references are already settled (they lead to files sent before, or to nothing)
// are given with those references resolved, closed downward: a file comes with its whole chain.
// A base sent before comes again when a new user is sent. Once the scan ends, the records that
// differ from what was sent (held files: those naming files outside the roots, or on a loop; and
// bases whose users were held) come once more, so the records given, merged by path in order, are
// exactly the scan's files (scan/early.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Problem } from '../../../shared/model.js';
import type { ForestChange, ScanResult, ScannedFile, ScanSummary } from '../../../shared/scan.js';
import { childPending, topPending, type Pending } from './chain.js';
import { resolveFile } from './open.js';
import { listTree } from './scan/list.js';
import { EarlyTrees, type EarlyRefs } from './scan/early.js';
import { BATCH_FILES, defaultWorkers, scanPool } from './scan/pool.js';
import { childName, Interner, readRecord, ROLES, type FileRecord, type Role } from './scan/record.js';
import { summarize } from './scan/summarize.js';

export { listFiles, listTree, type ListReached } from './scan/list.js';
export { summarize } from './scan/summarize.js';
export { BATCH_FILES, warmScanPool } from './scan/pool.js';

/** Progress is reported (and cancellation checked) every this many files. */
const PROGRESS_EVERY = 128;
/** A loop's problem names at most this many of its files. */
const LOOP_NAMED = 4;
/** Fewer files than this are read in-thread: starting the threads would cost more than they save. */
const PARALLEL_FROM = 2048;

export interface ScanOptions {
  /** Called now and then with the files read so far; return false to cancel. */
  progress?: (done: number, total: number) => boolean | void;
  /** Threads to read with: 0 reads in the calling thread; default one per core for large scans. */
  workers?: number;
  /** Each batch of listed files as it is read (see the top of this file). */
  onRead?: (files: ScannedFile[], done: number, total: number) => void;
  /**
   * Whole trees while the files are read (`final: false`), then once what the final resolution
   * changed (`final: true`; see the top of this file and scan/early.ts): the records given, merged
   * by path in order, are the scan's files.
   */
  onTrees?: (batch: ScanBatch) => void;
}

export interface ScanBatch {
  /** false: records as read, references not resolved yet; true: final records, in order. */
  final: boolean;
  files: ScannedFile[];
  /** Files delivered so far in this phase, this batch included, of `total`. */
  done: number;
  total: number;
}

export class ScanCancelled extends Error {}

interface Entry {
  file: ScannedFile;
  /** The path it was found or named by: relative names join to this, as qemu and libvirt do. */
  joinedFrom: string;
  names: Record<Role, FileRecord['names'][Role]>;
  /** Problems of the file itself (the header, the stat); reference problems are added on top. */
  own: Problem[];
  /** `own` and the reference problems: all but a loop's, which depends on the other files. */
  resolved: Problem[];
  /** The last walk of `markLoops` that reached it. */
  walked: number;
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
  /** Walks `markLoops` made so far (each entry keeps the last that reached it). */
  private walks = 0;

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
    // The threads start as soon as the listing shows they will be used: they boot while it goes on.
    let pool = null as ReturnType<typeof scanPool>;
    const startPool = (workers: number) => (pool = workers > 0 ? scanPool(workers) : null);
    const { files: names, dirs } = listTree(
      this.roots,
      opts.workers === undefined ? { files: PARALLEL_FROM, then: () => startPool(defaultWorkers()) } : undefined,
    );
    const total = names.length;
    const cancelled = (done: number) => opts.progress?.(done, total) === false;
    if (opts.workers !== undefined) startPool(opts.workers);
    const { onRead, onTrees } = opts;
    const listedNames = onTrees ? new Set(names) : null;
    const early = listedNames ? new EarlyTrees<Entry>((e) => this.earlyRefs(e, listedNames)) : null;
    /** A batch of listed names read (`read` holds their entries): handed on as the options ask. */
    const delivered = (read: Entry[], from: number, to: number) => {
      onRead?.(
        read.map((e) => e.file),
        to,
        total,
      );
      if (!early) return;
      early.read(read, names.slice(from, to));
      onTrees!({ final: false, files: early.take(), done: to, total });
    };
    const keep = !!(onRead || early);
    this.listedFresh = true;
    try {
      if (pool) {
        const interner = new Interner();
        const finished = pool.read(names, (start, records) => {
          if (cancelled(start)) return false;
          const read: Entry[] = [];
          for (let i = 0; i < records.length; i++) {
            const name = names[start + i]!;
            const r = interner.revive(records[i]!);
            // One string for the path as listed and as read (the usual case: no link on the way).
            if (r.file.path === name) r.file.path = name;
            const entry = this.admit(r, name, false, false);
            if (entry) this.listed.set(name, entry.file.path);
            if (entry && keep) read.push(entry);
          }
          delivered(read, start, Math.min(start + records.length, total));
          return true;
        });
        if (!finished) throw new ScanCancelled('scan cancelled');
      } else {
        let read: Entry[] = [];
        let from = 0;
        for (let i = 0; i < total; i++) {
          if (i % PROGRESS_EVERY === 0 && cancelled(i)) throw new ScanCancelled('scan cancelled');
          const entry = this.readListed(names[i]!);
          if (entry && keep) read.push(entry);
          if (keep && ((i + 1) % BATCH_FILES === 0 || i + 1 === total)) {
            delivered(read, from, i + 1);
            read = [];
            from = i + 1;
          }
        }
      }
      opts.progress?.(total, total);
      // Resolve references; files named from outside the roots are read too (they are part of chains).
      for (const entry of [...this.byPath.values()]) this.resolve(entry);
    } finally {
      this.listedFresh = false;
    }
    this.markLoops();
    this.rebuildUsedBy();
    if (early) onTrees!({ final: true, files: early.finish(this.files()), done: total, total });
    return dirs;
  }

  /**
   * While a full scan runs, the listing is fresh: a listed path read as itself (no link) needs no
   * lstat again when a name leads to it.
   */
  private listedFresh = false;

  /** The listed path `joined` would be, its folder's real path known from an earlier name, or null. */
  private candidateOf(joined: string): string | null {
    const slash = joined.lastIndexOf('/');
    const base = joined.slice(slash + 1);
    if (slash <= 0 || base === '' || base === '.' || base === '..') return null;
    // The folder's real path as resolveFile found it for an earlier name in the same folder.
    const rdir = this.dirs.get(joined.slice(0, slash));
    if (rdir === undefined) return null;
    return rdir === '/' ? `/${base}` : `${rdir}/${base}`;
  }

  /** The listed file `joined` names, known without a system call, or null (see listedFresh). */
  private knownTarget(joined: string): string | null {
    if (!this.listedFresh) return null;
    const candidate = this.candidateOf(joined);
    return candidate !== null && this.listed.get(candidate) === candidate ? candidate : null;
  }

  private read(p: Pending, external: boolean, replace = false): Entry | null {
    return this.admit(readRecord(p, this.dirs, external), p.joined, external, replace);
  }

  /** Take a file's record into the index (a re-read replaces the old record only when `replace`). */
  private admit(r: FileRecord, joinedFrom: string, external: boolean, replace: boolean): Entry | null {
    this.reads++;
    const file = r.file;
    if (file.size === null && !external) return null; // gone since it was listed
    // Only an update says what it read again; a full scan reads everything.
    if (this.before) this.readNow.push(file.path);
    const old = this.byPath.get(file.path);
    if (old && !replace) {
      if (!external) old.file.external = false;
      return old;
    }
    this.touch(file.path);
    // What the old record named may lose a user.
    if (old) this.touchRefs(old);
    file.external = external && !(old && !old.file.external);
    const entry: Entry = { file, joinedFrom, names: r.names, own: file.problems, resolved: file.problems, walked: 0 };
    this.byPath.set(file.path, entry);
    return entry;
  }

  private readListed(p: string, replace = false): Entry | null {
    const entry = this.read(topPending(p), false, replace);
    if (entry) this.listed.set(p, entry.file.path);
    else this.listed.delete(p);
    return entry;
  }

  /**
   * What an entry's names lead to, each name's target found by `find`: an entry, null for a file
   * that is not there, or a reason to stop (returned as is: the early trees wait on it).
   */
  private refsOf(entry: Entry, find: (cp: Pending) => Entry | null | { wait: string | null }): EarlyRefs<Entry> {
    const problems = [...entry.own];
    const scratch = { path: entry.file.path, problems };
    const pending = topPending(entry.joinedFrom);
    const refs: Record<Role, { entry: Entry } | { name: string } | null> = { backing: null, dataFile: null };
    for (const role of ROLES) {
      const child = entry.names[role];
      if (!child) continue;
      const cp = childPending(scratch, pending, childName(child), role === 'backing' ? 'backing' : 'data-file');
      if (!cp) continue;
      const ref = cp.nameInfo?.kind === 'file' ? find(cp) : null;
      if (ref && 'wait' in ref) return ref;
      refs[role] = ref ? { entry: ref } : { name: cp.name };
      if (ref) continue;
      const kind = cp.nameInfo?.kind ?? 'file';
      const what = role === 'backing' ? 'backing file' : 'data file';
      problems.push(
        kind === 'file'
          ? { code: 'missing', message: `${what} ${cp.joined} (named '${cp.name}' in ${entry.file.path}) does not exist` }
          : { code: kind, message: `${what} '${cp.name}' of ${entry.file.path} is a ${kind} name; it is never opened` },
      );
    }
    return { refs, problems };
  }

  /** Point an entry's backing and data file at the files they name, reading outside ones once. */
  private resolve(entry: Entry): void {
    if (!entry.names.backing && !entry.names.dataFile) {
      // Names nothing (a base, a raw file): no reference, no problem to add.
      entry.file.backing = entry.file.dataFile = null;
      entry.resolved = entry.file.problems = entry.own;
      return;
    }
    const r = this.refsOf(entry, (cp) => {
      const target = this.knownTarget(cp.joined) ?? resolveTarget(cp.joined, this.dirs);
      return target ? (this.byPath.get(target) ?? this.read(cp, true)) : null;
    });
    if ('wait' in r) throw new Error('a resolution that reads what it lacks never waits');
    for (const role of ROLES) {
      const t = r.refs[role];
      entry.file[role] = t ? ('entry' in t ? t.entry.file.path : t.name) : null;
    }
    // No reference problem: share the file's own list (one array, not two, per file).
    entry.resolved = entry.file.problems = r.problems.length === entry.own.length ? entry.own : r.problems;
  }

  /**
   * An entry's references while a scan still reads (the early trees): a listed file not read yet
   * is waited for; a file outside the listing is read only by the final resolution.
   */
  private earlyRefs(entry: Entry, listedNames: ReadonlySet<string>): EarlyRefs<Entry> {
    const unread = (p: string) => listedNames.has(p) && !this.listed.has(p);
    return this.refsOf(entry, (cp) => {
      const candidate = this.candidateOf(cp.joined);
      if (candidate !== null) {
        const as = this.listed.get(candidate);
        if (as === candidate) return this.byPath.get(candidate)!;
        // Not read yet: its read settles it (no system call now).
        if (as === undefined && unread(candidate)) return { wait: candidate };
      }
      const target = resolveTarget(cp.joined, this.dirs);
      if (!target) return null;
      const e = this.byPath.get(target);
      if (e) return e;
      return { wait: unread(target) ? target : null };
    });
  }

  /**
   * Files whose backing files lead back to themselves: each gets a `loop` problem (qemu cannot
   * open any of them). Every file is walked once; a walk stops at what an earlier walk saw.
   */
  private markLoops(): void {
    const inLoop = new Map<string, string[]>();
    // Each entry is stamped with the walk that reached it (no set or map per walk): a stamp from
    // this call but another walk is a file seen before; this walk's own stamp closes a loop.
    const first = this.walks + 1;
    const walk: Entry[] = [];
    for (const start of this.byPath.values()) {
      if (start.walked >= first) continue;
      const id = ++this.walks;
      walk.length = 0;
      for (let cur: Entry | undefined = start; cur && (cur.walked < first || cur.walked === id);) {
        if (cur.walked === id) {
          const loop = walk.slice(walk.indexOf(cur)).map((e) => e.file.path);
          for (const p of loop) inLoop.set(p, loop);
          break;
        }
        cur.walked = id;
        walk.push(cur);
        const next: string | null = cur.file.backing;
        cur = next !== null ? this.byPath.get(next) : undefined;
      }
    }
    for (const e of this.byPath.values()) {
      const loop = inLoop.get(e.file.path);
      if (!loop && e.file.problems === e.resolved) continue;
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
    return summarize(this.roots, this.files(), this.filesByPath);
  }

  /** byPath, seen as files (for summarize). */
  private readonly filesByPath = {
    get: (p: string) => this.byPath.get(p)?.file,
    has: (p: string) => this.byPath.has(p),
  };

  summary(): ScanSummary {
    return summarize(this.roots, this.files()).summary;
  }
}

export function scan(roots: string[], opts: ScanOptions = {}): ScanResult {
  const index = new ForestIndex(roots);
  index.scanAll(opts);
  return index.result();
}

/** A scan that hands its files over in batches while it runs (see the top of this file). */
export function scanStream(roots: string[], opts: ScanOptions, onBatch: (batch: ScanBatch) => void): ScanResult {
  const index = new ForestIndex(roots);
  index.scanAll({
    ...opts,
    onRead: (files, done, total) => {
      opts.onRead?.(files, done, total);
      onBatch({ final: false, files: files.map((f) => ({ ...f })), done, total });
    },
  });
  const r = index.result();
  const total = r.files.length;
  for (let i = 0; i < total || i === 0; i += BATCH_FILES) {
    const files = r.files.slice(i, i + BATCH_FILES);
    onBatch({ final: true, files, done: i + files.length, total });
  }
  return r;
}
