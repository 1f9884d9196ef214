// The journal: one JSON-lines file per relabel, restore or undo. A `change` line (before and
// after state of one file) is on disk, fdatasync'd, before that file is touched; changes are
// written in batches, each batch synced once before any of its files changes.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { JournalKind, JournalStatus, JournalSummary, Refusal } from '../../../shared/plan.js';
import type { ChangeKind, RawState } from './state.js';
import { callerUid, throughPkexec } from './consent.js';

export const JOURNAL_VERSION = 1;
export const SYSTEM_JOURNAL_DIR = '/var/lib/diskchain/journal';

/** `$DISKCHAIN_STATE_DIR`, else /var/lib/diskchain/journal for root, else `$XDG_STATE_HOME/diskchain`. */
export function journalDir(): string {
  const env = process.env.DISKCHAIN_STATE_DIR;
  if (env) return path.resolve(env);
  if (process.getuid?.() === 0) return SYSTEM_JOURNAL_DIR;
  const xdg = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local/state');
  return path.join(xdg, 'diskchain');
}

export interface BeginRecord {
  t: 'begin';
  v: number;
  id: string;
  kind: JournalKind;
  tops: string[];
  startedMs: number;
  bootTime: string;
  count: number;
  pid: number;
  undoOf?: string;
  planIds?: string[];
  /** The allowed roots the run was made within: undo and recover stay inside them. */
  roots?: string[];
  /** The uid the run was made for (pkexec's caller, or this process). */
  caller?: number;
}

export interface ChangeRecord {
  t: 'change';
  seq: number;
  path: string;
  disk: string;
  from: RawState;
  to: RawState;
  /** Absent for a file's labels; 'folder-acl' for a folder's access ACL (check-access --fix). */
  kind?: ChangeKind;
}

export interface EndRecord {
  t: 'commit' | 'rollback' | 'recovered';
  ms: number;
  message?: string;
  conflicts?: Refusal[];
}

export interface JournalFile {
  id: string;
  file: string;
  begin: BeginRecord;
  changes: ChangeRecord[];
  end: EndRecord | null;
}

/** `YYYYMMDD-HHMMSSmmm-xxxxxx` (UTC): names sort in the order the runs started. */
const ID_RE = /^\d{8}-\d{9}-[0-9a-f]{6}$/;

export function isJournalId(id: string): boolean {
  return ID_RE.test(id);
}

export function newJournalId(now = new Date()): string {
  const iso = now.toISOString(); // 2025-01-02T03:04:05.678Z
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 23).replace(/[:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

/** A new id that sorts after every journal in `dir`, even if the clock went back. */
function nextJournalId(dir: string): string {
  const newest = journalFiles(dir).pop();
  let t = Date.now();
  if (newest) {
    const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(\d{3})-/.exec(path.basename(newest));
    if (m) {
      const last = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
      if (t <= last) t = last + 1;
    }
  }
  return newJournalId(new Date(t));
}

/**
 * As root, the journal folder and every folder above it must belong to root and be writable by
 * root alone: a journal is a list of files for root to change back, so nobody else may be able
 * to put one there (or swap a folder on the way). Folders that do not exist yet are skipped.
 */
export function checkStateDir(dir: string): void {
  if (process.getuid?.() !== 0) return;
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    let st: fs.Stats | null = null;
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st) {
      const why = st.isSymbolicLink()
        ? 'is a symbolic link'
        : !st.isDirectory()
          ? 'is not a folder'
          : st.uid !== 0
            ? `is owned by uid ${st.uid}, not root`
            : st.mode & 0o022
              ? `is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'}`
              : null;
      if (why)
        throw new Error(
          `journal folder ${dir} refused: ${p} ${why} (as root it and every folder above it must be root's, writable by root alone)`,
        );
    }
    if (p === '/') return;
  }
}

/** Create the folder (0700; the system one 0755 so its names can be listed) and check it is safe to keep a journal in. */
export function ensureDir(dir: string): void {
  checkStateDir(dir);
  fs.mkdirSync(dir, { recursive: true, mode: dir === SYSTEM_JOURNAL_DIR ? 0o755 : 0o700 });
  checkStateDir(dir);
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`journal folder ${dir} is not a folder`);
  if (st.mode & 0o002) throw new Error(`journal folder ${dir} is writable by everyone`);
}

/** Beside a journal while its run is under way: lets a user who may not read the journal see that a recovery is due. */
function runningMarker(file: string): string {
  return file.replace(/\.jsonl$/, '.running');
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class JournalWriter {
  private seq = 0;
  private constructor(
    readonly id: string,
    readonly file: string,
    private fd: number,
  ) {}

  /** Create the journal file and its begin line, durable (file and folder synced). */
  static create(dir: string, begin: Omit<BeginRecord, 't' | 'v' | 'id' | 'pid'>): JournalWriter {
    ensureDir(dir);
    for (let attempt = 0; ; attempt++) {
      const id = nextJournalId(dir);
      const file = path.join(dir, `${id}.jsonl`);
      let fd: number;
      try {
        fs.closeSync(
          fs.openSync(
            runningMarker(file),
            fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
            0o644,
          ),
        );
        fd = fs.openSync(
          file,
          fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW,
          0o600,
        );
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 10) continue;
        throw e;
      }
      const w = new JournalWriter(id, file, fd);
      const rec: BeginRecord = { t: 'begin', v: JOURNAL_VERSION, id, pid: process.pid, ...begin };
      w.write([rec]);
      fsyncDir(dir);
      return w;
    }
  }

  private write(records: object[]): void {
    if (records.length === 0) return;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    fs.fdatasyncSync(this.fd);
  }

  /** Journal a batch of changes; returns their records. One write, one fdatasync. */
  changes(items: Omit<ChangeRecord, 't' | 'seq'>[]): ChangeRecord[] {
    const recs = items.map((c) => ({ t: 'change' as const, seq: this.seq++, ...c }));
    this.write(recs);
    return recs;
  }

  end(rec: Omit<EndRecord, 'ms'>): void {
    this.write([{ ...rec, ms: Date.now() }]);
    fs.rmSync(runningMarker(this.file), { force: true });
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Append an end record to an existing journal (recovery), durable. */
export function appendEnd(file: string, rec: Omit<EndRecord, 'ms'>): void {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_NOFOLLOW);
  try {
    // After a crash the file may end in half a line: start ours on a line of its own.
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    const torn = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 10;
    fs.writeSync(fd, (torn ? '\n' : '') + JSON.stringify({ ...rec, ms: Date.now() }) + '\n');
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.rmSync(runningMarker(file), { force: true });
}

/**
 * Read a journal. A last line cut short by a crash is ignored: its change was never made (the
 * line is synced before the change). Returns null for a file that is not a journal.
 */
export function readJournal(file: string): JournalFile | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  let begin: BeginRecord | null = null;
  const changes: ChangeRecord[] = [];
  let end: EndRecord | null = null;
  for (const line of lines) {
    if (!line) continue;
    let rec: { t?: string };
    try {
      rec = JSON.parse(line);
    } catch {
      continue; // torn last line
    }
    if (rec.t === 'begin' && !begin) begin = rec as BeginRecord;
    else if (rec.t === 'change' && begin) changes.push(rec as ChangeRecord);
    else if ((rec.t === 'commit' || rec.t === 'rollback' || rec.t === 'recovered') && begin) end = rec as EndRecord;
  }
  if (!begin || !isJournalId(begin.id)) return null;
  return { id: begin.id, file, begin, changes, end };
}

/** Whether a journal ends with an end record; reads only the file's tail. */
export function isFinished(file: string): boolean {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    const n = Math.min(size, 65536);
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, size - n);
    const lines = buf.toString('utf8').split('\n').filter(Boolean);
    const last = lines[lines.length - 1];
    if (!last) return false;
    const t = (JSON.parse(last) as { t?: string }).t;
    return t === 'commit' || t === 'rollback' || t === 'recovered';
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** isFinished for a reader that may not open the journal (root's, 0600): its running marker is gone. */
function looksFinished(file: string): boolean {
  try {
    return isFinished(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
    return !fs.existsSync(runningMarker(file));
  }
}

/** Journals that never reached their end (a run killed half-way). */
export function unfinished(dir: string): string[] {
  return journalFiles(dir).filter((f) => !looksFinished(f));
}

export function journalFiles(dir: string): string[] {
  checkStateDir(dir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.jsonl') && isJournalId(n.slice(0, -6)))
    .sort()
    .map((n) => path.join(dir, n));
}

export function readAll(dir: string): JournalFile[] {
  return journalFiles(dir)
    .map(readJournal)
    .filter((j): j is JournalFile => j !== null);
}

/** History lists at most this many paths per run: a run over a whole pool would flood it. */
const SUMMARY_PATHS = 50;

/** The files a run changed, each once, in the order it changed them. */
function changedPaths(changes: ChangeRecord[]): string[] {
  const out = new Set<string>();
  for (const c of changes) {
    if (out.size >= SUMMARY_PATHS) break;
    out.add(c.path);
  }
  return [...out];
}

/** Status of every journal, oldest first; an undo marks what it reverted as undone. */
export function summarize(journals: JournalFile[]): JournalSummary[] {
  const undoneBy = new Map<string, string>();
  // An undo counts only while it is itself in effect (an undone undo is a redo).
  const effective = new Map<string, boolean>();
  const isEffectiveCommit = (j: JournalFile): boolean => {
    const cached = effective.get(j.id);
    if (cached !== undefined) return cached;
    effective.set(j.id, false);
    let ok = j.end?.t === 'commit';
    if (ok) {
      for (const u of journals) {
        if (u.begin.undoOf === j.id && u.end?.t === 'commit' && isEffectiveCommit(u)) {
          ok = false;
          undoneBy.set(j.id, u.id);
          break;
        }
      }
    }
    effective.set(j.id, ok);
    return ok;
  };
  for (const j of journals) isEffectiveCommit(j);
  return journals.map((j) => {
    let status: JournalStatus;
    if (!j.end) status = 'interrupted';
    else if (j.end.t === 'rollback') status = 'rolled-back';
    else if (j.end.t === 'recovered') status = 'recovered';
    else status = undoneBy.has(j.id) ? 'undone' : 'committed';
    return {
      id: j.id,
      kind: j.begin.kind,
      tops: j.begin.tops,
      startedMs: j.begin.startedMs,
      status,
      files: j.changes.length,
      paths: changedPaths(j.changes),
      ...(j.begin.undoOf ? { undoOf: j.begin.undoOf } : {}),
      ...(undoneBy.has(j.id) ? { undoneBy: undoneBy.get(j.id)! } : {}),
    };
  });
}

const held = new Map<string, number>();

/**
 * A lock on the journal folder: one process changes files at a time. Stale locks (dead pid)
 * are taken over. Re-entrant within a process.
 */
export function acquireLock(dir: string, waitMs = 10_000): () => void {
  ensureDir(dir);
  const file = path.join(dir, 'lock');
  const depth = held.get(file) ?? 0;
  if (depth > 0) {
    held.set(file, depth + 1);
    return () => {
      held.set(file, (held.get(file) ?? 1) - 1);
    };
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      held.set(file, 1);
      return () => {
        const n = (held.get(file) ?? 1) - 1;
        held.set(file, n);
        if (n > 0) return;
        try {
          if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let pid = NaN;
    try {
      pid = Number(fs.readFileSync(file, 'utf8'));
    } catch {
      /* removed meanwhile */
    }
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      if (Date.now() > deadline) throw new Error(`another diskchain process (pid ${pid}) is changing files; try again when it is done`);
      sleep(50);
      continue;
    }
    // Dead owner, our own stale pid, or garbage: take it over.
    try {
      fs.unlinkSync(file);
    } catch {
      /* raced */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The journal folders this process reads: its own, and the system one when it is not root. */
export function readableJournalDirs(): string[] {
  const dirs = [journalDir()];
  if (!process.env.DISKCHAIN_STATE_DIR && process.getuid?.() !== 0) dirs.push(SYSTEM_JOURNAL_DIR);
  return dirs;
}

/** Every journal this user can read (its own, and the system one when not root), oldest first; through pkexec only the caller's runs. */
export function listJournals(): JournalSummary[] {
  const dirs = readableJournalDirs();
  // The journal names other users' files: a pkexec caller sees its own runs only.
  const mine = (j: JournalFile) => !throughPkexec() || j.begin.caller === callerUid();
  const all = dirs.flatMap((d) => readAll(d)).filter(mine);
  return summarize(all.sort((a, b) => a.id.localeCompare(b.id)));
}
