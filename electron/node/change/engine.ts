// Applying changes: on descriptors opened without following links, each file checked against
// the state the plan was made from, each change journalled (synced) before it is made, all or
// nothing (a failure undoes what was done, in reverse order). Also undo and crash recovery.
// Two kinds of change: a file's labels (relabel, restore) and a folder's access ACL
// (check-access --fix); both journalled, rolled back and undone the same way.
import * as fs from 'node:fs';
import type { ApplyResult, JournalKind, RecoverResult, Refusal } from '../../../shared/plan.js';
import { fremovexattr, fsetxattr } from '../native/libc.js';
import { ConsentError, RootSet, callerUid, libvirtRoots, onTheWay, openFolderNoLinks, rootProblem, throughPkexec } from './consent.js';
import { giveOwners, giveProblem, type GiveOwners } from './owners.js';
import {
  JournalWriter,
  acquireLock,
  checkStateDir,
  appendEnd,
  readAll,
  readJournal,
  summarize,
  unfinished,
  type ChangeRecord,
  type JournalFile,
} from './journal.js';
import {
  ACL_XATTR,
  COMPARED_XATTRS,
  LIBVIRT_PREFIX,
  MANAGED_XATTRS,
  SELINUX_XATTR,
  captureFd,
  captureFolderFd,
  diffStates,
  isFolder,
  isRegular,
  sameIdentity,
  sameXattr,
  type ChangeKind,
  type RawChange,
  type RawState,
} from './state.js';
import { errorText } from '../../../shared/error-text.js';

/** One change as the engine takes it: a relabel's RawChange, or a folder ACL change. */
export type EngineChange = RawChange & { kind?: ChangeKind };

function kindOf(c: { kind?: ChangeKind }): ChangeKind {
  return c.kind ?? 'file';
}

/**
 * Where a run may change things, decided from what this process verified: files are opened
 * beneath these roots only (consent.ts); folder ACLs only on these folders.
 */
class Consent {
  readonly rootSet: RootSet;
  /**
   * `gives`: the new owners come from the caller (relabel, access fix), so a pkexec caller's
   * limits apply; restore and undo put back what root recorded.
   */
  constructor(
    readonly roots: readonly string[],
    private readonly folders?: readonly string[],
    private readonly gives = false,
  ) {
    this.rootSet = new RootSet(roots);
  }

  /** Why this change may not be made for a pkexec caller, or null. */
  giveProblem(c: { path: string; kind?: ChangeKind; from: RawState; to: RawState }): string | null {
    if (!this.gives || !throughPkexec()) return null;
    this.owners ??= giveOwners();
    return giveProblem(c, kindOf(c) === 'file' && this.rootSet.callerOwns(c.path), this.owners);
  }
  private owners: GiveOwners | undefined;

  /** The descriptor, and for a file what fstat said of it (so nobody asks again). */
  open(path: string, kind: ChangeKind): { fd: number; st?: fs.Stats } {
    if (kind === 'file') return this.rootSet.openFileWithStat(path);
    const onWay = this.folders ? this.folders.includes(path) : onTheWay(path, this.roots);
    if (!onWay) throw new ConsentError(path, 'is not a folder on the way to a file of the chain', 'EOUTSIDE');
    return { fd: openFolderNoLinks(path) };
  }

  close(): void {
    this.rootSet.close();
  }
}

/** Modes never set: chown clears them, and no disk image or folder of one needs them. */
const PRIVILEGE_BITS = 0o6000;

function captureKind(fd: number, kind: ChangeKind, known?: fs.Stats): RawState {
  return kind === 'folder-acl' ? captureFolderFd(fd) : captureFd(fd, known);
}

/** The refusal of a run the caller cancelled (everything done so far is put back). */
export const CANCELLED = 'cancelled by the user';

/** Files journalled (and synced) together before any of them changes. */
export const BATCH_SIZE = 256;

export interface ExecuteOptions {
  dir: string;
  kind: JournalKind;
  tops: string[];
  bootTime: string;
  undoOf?: string;
  planIds?: string[];
  /** Check every file before journalling anything, and refuse with the full list. */
  precheck?: boolean;
  /** The roots every changed file is reached from (the consent rules decided them). */
  allowedRoots: string[];
  /** When given, each folder ACL change must be on one of these folders (exact real paths); else on the way to a root. */
  allowedFolders?: string[];
  /** Called after each file changed: `done` of `total`, the file's path. */
  onFile?: (done: number, total: number, path: string) => void;
  /** Asked before each file: true stops the run, and what was done is put back. */
  cancelled?: () => boolean;
}

class Refused extends Error {
  constructor(readonly refusal: Refusal) {
    super(`${refusal.path}: ${refusal.message}`);
  }
}

// ---- test hooks: a real kill -9 or an injected failure at a precise point ------------------

interface HookPoint {
  file: number;
  op: number;
}

function parseHook(v: string | undefined): HookPoint | null {
  if (!v) return null;
  const m = /^(\d+)(?::(\d+))?$/.exec(v);
  return m ? { file: Number(m[1]), op: m[2] === undefined ? 0 : Number(m[2]) } : null;
}

class Hooks {
  private readonly kill = parseHook(process.env.DISKCHAIN_TEST_KILL_AT);
  private readonly fail = parseHook(process.env.DISKCHAIN_TEST_FAIL_AT);
  /** A pause before each file, so a test can cancel a run half-way on a small pool. */
  private readonly delayMs = Math.min(Number(process.env.DISKCHAIN_TEST_FILE_DELAY_MS) || 0, 1000);
  /** The file before which the run waits for a cancel (at most a minute), so a test's cancel never races the end. */
  private readonly holdAt = /^\d+$/.test(process.env.DISKCHAIN_TEST_HOLD_AT ?? '') ? Number(process.env.DISKCHAIN_TEST_HOLD_AT) : -1;

  /** Before the `file`-th changed file is looked at for a cancel. */
  hold(file: number, cancelled: (() => boolean) | undefined): void {
    if (file !== this.holdAt || !cancelled) return;
    const tick = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; waited < 60_000 && !cancelled(); waited += 20) Atomics.wait(tick, 0, 0, 20);
  }

  /** Called before op `op` of the `file`-th changed file (0-based, over the whole run). */
  at(file: number, op: number): void {
    if (op === 0 && this.delayMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.delayMs);
    if (this.kill && this.kill.file === file && this.kill.op === op) process.kill(process.pid, 'SIGKILL');
    if (this.fail && this.fail.file === file && this.fail.op === op) throw new Error('injected failure (DISKCHAIN_TEST_FAIL_AT)');
  }
}

// ---- making one file look like a target state -----------------------------------------------

/**
 * Make the open file match `target` (owner, mode, managed xattrs), step by step, in libvirt's
 * order: records go away with the refcount first, come with the refcount last; owner; context.
 * `step` is called before each change (test hooks).
 */
function converge(fd: number, target: RawState, step: (op: number) => void = () => {}, kind: ChangeKind = 'file', known?: RawState): void {
  if (kind === 'folder-acl') return convergeFolder(fd, target, step);
  let op = 0;
  // `known`: the state just read on this descriptor and checked against the plan.
  const cur = known ?? captureFd(fd);
  const libvirtNames = MANAGED_XATTRS.filter((n) => n.startsWith(LIBVIRT_PREFIX));
  const isRef = (n: string) => n.startsWith(LIBVIRT_PREFIX + 'ref_');
  const removals = libvirtNames.filter((n) => cur.xattrs[n] !== undefined && target.xattrs[n] === undefined);
  removals.sort((a, b) => Number(isRef(b)) - Number(isRef(a)));
  for (const n of removals) {
    step(op++);
    fremovexattr(fd, n);
  }
  const sets = libvirtNames.filter((n) => target.xattrs[n] !== undefined && !sameXattr(n, cur.xattrs[n], target.xattrs[n]));
  sets.sort((a, b) => Number(isRef(a)) - Number(isRef(b)));
  for (const n of sets) {
    step(op++);
    fsetxattr(fd, n, Buffer.from(target.xattrs[n]!, 'hex'));
  }
  if (cur.uid !== target.uid || cur.gid !== target.gid) {
    step(op++);
    fs.fchownSync(fd, target.uid, target.gid);
  }
  // chown clears setuid/setgid bits (files with them are refused, so only then look again); the
  // mode is never meant to change.
  const mode = cur.mode & PRIVILEGE_BITS ? fs.fstatSync(fd).mode : cur.mode;
  if ((mode & 0o7777) !== (target.mode & 0o7777 & ~PRIVILEGE_BITS)) {
    step(op++);
    fs.fchmodSync(fd, target.mode & 0o7777 & ~PRIVILEGE_BITS);
  }
  const se = target.xattrs[SELINUX_XATTR];
  if (!sameXattr(SELINUX_XATTR, cur.xattrs[SELINUX_XATTR], se)) {
    step(op++);
    if (se === undefined) fremovexattr(fd, SELINUX_XATTR);
    else fsetxattr(fd, SELINUX_XATTR, Buffer.from(se, 'hex'));
  }
}

/**
 * A folder: its access ACL first (setting it sets the mode's permission bits from the ACL, as
 * the kernel keeps them in step), then the mode when it still differs (removing an ACL leaves the
 * mode as it was). The owner is never changed.
 */
function convergeFolder(fd: number, target: RawState, step: (op: number) => void): void {
  let op = 0;
  const cur = captureFolderFd(fd);
  const want = target.xattrs[ACL_XATTR];
  if (!sameXattr(ACL_XATTR, cur.xattrs[ACL_XATTR], want)) {
    step(op++);
    if (want === undefined) fremovexattr(fd, ACL_XATTR);
    else fsetxattr(fd, ACL_XATTR, Buffer.from(want, 'hex'));
  }
  if ((fs.fstatSync(fd).mode & 0o7777) !== (target.mode & 0o7777 & ~PRIVILEGE_BITS)) {
    step(op++);
    fs.fchmodSync(fd, target.mode & 0o7777 & ~PRIVILEGE_BITS);
  }
}

/**
 * The state to go back to: each component (owner, mode, each xattr) goes back to `from` when it
 * is `from` or `to` now; anything else changed since and is left as it is (a conflict).
 */
function backTarget(cur: RawState, from: RawState, to: RawState): { target: RawState; conflicts: string[] } {
  const target: RawState = { ...cur, xattrs: { ...cur.xattrs } };
  const conflicts: string[] = [];
  const ownerIs = (s: RawState) => cur.uid === s.uid && cur.gid === s.gid;
  if (ownerIs(from) || ownerIs(to)) {
    target.uid = from.uid;
    target.gid = from.gid;
  } else conflicts.push(`owner is ${cur.uid}:${cur.gid} (expected ${to.uid}:${to.gid})`);
  const modeIs = (s: RawState) => (cur.mode & 0o7777) === (s.mode & 0o7777);
  // A chown of ours may have cleared setuid/setgid: that counts as ours too.
  if (modeIs(from) || modeIs(to) || (cur.mode & 0o7777) === (from.mode & 0o1777)) target.mode = from.mode;
  else conflicts.push(`mode is ${(cur.mode & 0o7777).toString(8)} (expected ${(to.mode & 0o7777).toString(8)})`);
  for (const n of COMPARED_XATTRS) {
    const c = cur.xattrs[n];
    if (sameXattr(n, c, from.xattrs[n]) || sameXattr(n, c, to.xattrs[n])) {
      if (from.xattrs[n] === undefined) delete target.xattrs[n];
      else target.xattrs[n] = from.xattrs[n]!;
    } else conflicts.push(`${n} changed since`);
  }
  return { target, conflicts };
}

interface Opened {
  fd: number;
  state: RawState;
}

/** Open a change's file and check it is the very file, in the very state, it was planned on. */
function openChecked(c: { path: string; from: RawState; to: RawState; kind?: ChangeKind }, expect: RawState, consent: Consent): Opened {
  const kind = kindOf(c);
  if (c.to.mode & PRIVILEGE_BITS) throw new Refused({ path: c.path, message: 'would be given a setuid or setgid bit: never' });
  let fd: number;
  let known: fs.Stats | undefined;
  try {
    ({ fd, st: known } = consent.open(c.path, kind));
  } catch (e) {
    if (e instanceof ConsentError) throw new Refused({ path: c.path, message: e.message });
    const code = (e as NodeJS.ErrnoException).code;
    throw new Refused({ path: c.path, message: code === 'ENOENT' ? 'is gone' : `cannot be opened (${code ?? (e as Error).message})` });
  }
  try {
    const state = captureKind(fd, kind, known);
    if (kind === 'file' && !isRegular(state.mode)) throw new Refused({ path: c.path, message: 'is not a regular file any more' });
    if (kind === 'folder-acl' && !isFolder(state.mode)) throw new Refused({ path: c.path, message: 'is not a folder any more' });
    if (!sameIdentity(state, c.from)) throw new Refused({ path: c.path, message: 'was replaced by another file since the preview' });
    // No look at /proc/self/fd's path: the walk from the root reached this very path, and a
    // rename since then changes no file's identity.
    const diff = diffStates(state, expect);
    if (diff.length) throw new Refused({ path: c.path, message: `changed since the preview (${diff.join(', ')})` });
    const refused = consent.giveProblem(c);
    if (refused) throw new Refused({ path: c.path, message: refused });
    return { fd, state };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    /* already closed */
  }
}

/** Put files back to their `from` state, newest change first. Returns what could not be put back. */
function revert(
  records: { path: string; from: RawState; to: RawState; kind?: ChangeKind }[],
  consent: Consent,
): { files: number; conflicts: Refusal[] } {
  const conflicts: Refusal[] = [];
  let files = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    const kind = kindOf(r);
    if (r.from.mode & PRIVILEGE_BITS) {
      conflicts.push({ path: r.path, message: 'the journal asks for a setuid or setgid bit: left alone' });
      continue;
    }
    let fd: number;
    try {
      ({ fd } = consent.open(r.path, kind));
    } catch (e) {
      const why = e instanceof ConsentError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
      conflicts.push({ path: r.path, message: `cannot be opened to put it back (${why})` });
      continue;
    }
    try {
      const cur = captureKind(fd, kind);
      if (!sameIdentity(cur, r.from) || !(kind === 'folder-acl' ? isFolder(cur.mode) : isRegular(cur.mode))) {
        conflicts.push({ path: r.path, message: 'is another file now; left alone' });
        continue;
      }
      const { target, conflicts: c } = backTarget(cur, r.from, r.to);
      if (diffStates(cur, target).length) {
        converge(fd, target, undefined, kind);
        files++;
      }
      if (c.length) conflicts.push({ path: r.path, message: `partly left as it is: ${c.join('; ')}` });
    } catch (e) {
      conflicts.push({ path: r.path, message: `could not be put back (${(e as Error).message})` });
    } finally {
      closeQuietly(fd);
    }
  }
  return { files, conflicts };
}

/** Refuse while an interrupted run has not been recovered: its files are in between. */
function interruptedRefusal(dir: string): Refusal[] {
  return unfinished(dir).map((f) => ({ path: f, message: 'an interrupted change was never recovered: run `diskchain recover` first' }));
}

/** Apply `changes` (one per file) all or nothing, journalled. The caller holds no lock. */
export function execute(changes: EngineChange[], opts: ExecuteOptions): ApplyResult {
  const release = acquireLock(opts.dir);
  try {
    return executeLocked(changes, opts);
  } finally {
    release();
  }
}

function executeLocked(changes: EngineChange[], opts: ExecuteOptions): ApplyResult {
  const consent = new Consent(opts.allowedRoots, opts.allowedFolders, opts.kind === 'relabel' || opts.kind === 'access-fix');
  try {
    return executeWith(changes, opts, consent);
  } finally {
    consent.close();
  }
}

function executeWith(changes: EngineChange[], opts: ExecuteOptions, consent: Consent): ApplyResult {
  const pending = interruptedRefusal(opts.dir);
  if (pending.length) return { ok: false, journalId: '', changed: 0, refusals: pending, message: pending[0]!.message };
  if (opts.precheck) {
    const refusals: Refusal[] = [];
    for (const c of changes) {
      try {
        closeQuietly(openChecked(c, c.from, consent).fd);
      } catch (e) {
        if (e instanceof Refused) refusals.push(e.refusal);
        else refusals.push({ path: c.path, message: (e as Error).message });
      }
    }
    if (refusals.length) return { ok: false, journalId: '', changed: 0, refusals, message: 'files changed since; nothing was done' };
  }
  if (changes.length === 0) return { ok: true, journalId: '', changed: 0, refusals: [] };

  const journal = JournalWriter.create(opts.dir, {
    kind: opts.kind,
    tops: opts.tops,
    startedMs: Date.now(),
    bootTime: opts.bootTime,
    count: changes.length,
    ...(opts.undoOf ? { undoOf: opts.undoOf } : {}),
    ...(opts.planIds ? { planIds: opts.planIds } : {}),
    roots: [...opts.allowedRoots],
    caller: callerUid(),
  });
  const hooks = new Hooks();
  const touched: ChangeRecord[] = [];
  let fileIndex = 0;
  try {
    for (let start = 0; start < changes.length; start += BATCH_SIZE) {
      const batch = changes.slice(start, start + BATCH_SIZE);
      const opened: Opened[] = [];
      try {
        for (const c of batch) opened.push(openChecked(c, c.from, consent));
        const recs = journal.changes(
          batch.map((c) => ({
            path: c.path,
            disk: c.disk,
            from: c.from,
            to: c.to,
            ...(c.kind && c.kind !== 'file' ? { kind: c.kind } : {}),
          })),
        );
        for (let i = 0; i < batch.length; i++) {
          const o = opened[i]!;
          const c = batch[i]!;
          // The journal line is synced; a last look that nothing moved meanwhile.
          const now = fs.fstatSync(o.fd);
          if (now.uid !== c.from.uid || now.gid !== c.from.gid || now.mode !== c.from.mode) {
            throw new Refused({ path: c.path, message: 'changed while being applied' });
          }
          hooks.hold(fileIndex, opts.cancelled);
          if (opts.cancelled?.()) throw new Refused({ path: c.path, message: CANCELLED });
          touched.push(recs[i]!);
          const n = fileIndex++;
          hooks.at(n, 0);
          converge(o.fd, c.to, (op) => hooks.at(n, op + 1), kindOf(c), o.state);
          // Each set and chown above either took or threw; the owner and mode are looked at
          // once more (chown clears bits), the xattrs are not read back a third time.
          const after = fs.fstatSync(o.fd);
          const took = diffStates({ ...c.to, uid: after.uid, gid: after.gid, mode: after.mode }, c.to);
          if (took.length) throw new Refused({ path: c.path, message: `did not take the change (${took.join(', ')})` });
          opts.onFile?.(n + 1, changes.length, c.path);
        }
      } finally {
        for (const o of opened) closeQuietly(o.fd);
      }
    }
  } catch (e) {
    const refusal = e instanceof Refused ? e.refusal : { path: touched[touched.length - 1]?.path ?? '', message: describeError(e) };
    const back = revert(touched, consent);
    journal.end({
      t: 'rollback',
      message: `${refusal.path}: ${refusal.message}`,
      ...(back.conflicts.length ? { conflicts: back.conflicts } : {}),
    });
    journal.close();
    return {
      ok: false,
      journalId: journal.id,
      changed: 0,
      refusals: [refusal],
      rolledBack: true,
      message: touched.length
        ? `${refusal.path}: ${refusal.message}; the ${touched.length} file(s) changed so far were put back`
        : `${refusal.path}: ${refusal.message}; nothing was changed`,
      ...(back.conflicts.length ? { conflicts: back.conflicts } : {}),
    };
  }
  journal.end({ t: 'commit' });
  journal.close();
  return { ok: true, journalId: journal.id, changed: changes.length, refusals: [] };
}

function describeError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.message}` : errorText(e);
}

// ---- undo and recover -------------------------------------------------------------------------

/** The journal `id` (default: the newest relabel or restore still in effect) reverted as a new journalled run. */
export function undoJournal(dir: string, id?: string): ApplyResult {
  const release = acquireLock(dir);
  try {
    const all = readAll(dir);
    const summary = summarize(all);
    let target: JournalFile | undefined;
    if (id) {
      target = all.find((j) => j.id === id);
      if (!target) return fail(`no journal ${id}`);
    } else {
      const s = [...summary].reverse().find((x) => x.status === 'committed' && x.kind !== 'undo');
      if (!s) return fail('nothing to undo');
      target = all.find((j) => j.id === s.id);
    }
    const status = summary.find((x) => x.id === target!.id)!;
    if (status.status !== 'committed') return fail(`journal ${target!.id} is ${status.status}; only a committed change can be undone`);
    const changes: EngineChange[] = [...target!.changes]
      .reverse()
      .map((c) => ({ path: c.path, disk: c.disk, from: c.to, to: c.from, ...(c.kind ? { kind: c.kind } : {}) }));
    const roots = journalRoots(target!);
    if (roots.refusals.length)
      return {
        ok: false,
        journalId: '',
        changed: 0,
        refusals: roots.refusals,
        message: 'the journal names folders that cannot be changed now; nothing was done',
      };
    return executeLocked(changes, {
      dir,
      kind: 'undo',
      tops: target!.begin.tops,
      bootTime: target!.begin.bootTime,
      undoOf: target!.id,
      precheck: true,
      allowedRoots: roots.roots,
    });
  } finally {
    release();
  }
}

/**
 * The roots a journalled run may be undone or recovered within: those it recorded, each checked
 * again now by the consent rules for the user it was made for (a journal from before roots were
 * recorded allows none). Whoever undoes it through pkexec must be that user or root.
 */
function journalRoots(j: JournalFile): { roots: string[]; refusals: Refusal[]; foreign?: boolean } {
  const recorded = Array.isArray(j.begin.roots) ? j.begin.roots.filter((r): r is string => typeof r === 'string') : [];
  const owner = typeof j.begin.caller === 'number' ? j.begin.caller : 0;
  const refusals: Refusal[] = [];
  if (throughPkexec() && callerUid() !== owner) {
    return {
      roots: [],
      refusals: [{ path: j.file, message: `made for uid ${owner}; only that user or root may undo or recover it` }],
      foreign: true,
    };
  }
  const libvirt = new Set(libvirtRoots());
  const roots = recorded.filter((r) => {
    const why = rootProblem(r, libvirt.has(r) ? 'libvirt' : 'named', owner);
    if (why) refusals.push({ path: r, message: why });
    return !why;
  });
  return { roots, refusals };
}

function fail(message: string): ApplyResult {
  return { ok: false, journalId: '', changed: 0, refusals: [{ path: '', message }], message };
}

/** Bring back every file of every interrupted run to where it was before that run. */
export function recoverAll(dir: string): RecoverResult {
  const result: RecoverResult = { recovered: [], files: 0, conflicts: [] };
  checkStateDir(dir);
  let files: string[];
  try {
    files = unfinished(dir);
  } catch {
    return result;
  }
  if (files.length === 0) return result;
  const release = acquireLock(dir);
  try {
    for (const file of unfinished(dir)) {
      const j = readJournal(file);
      if (!j) {
        // Killed while writing its first line: nothing was changed under it.
        fs.rmSync(file, { force: true });
        continue;
      }
      const roots = journalRoots(j);
      if (roots.foreign) {
        // Someone else's run: left as it is for its own user or root, never closed unrecovered.
        result.conflicts.push(...roots.refusals);
        continue;
      }
      const consent = new Consent(roots.roots);
      let back;
      try {
        back = revert(j.changes, consent);
      } finally {
        consent.close();
      }
      back.conflicts.unshift(...roots.refusals);
      appendEnd(file, { t: 'recovered', ...(back.conflicts.length ? { conflicts: back.conflicts } : {}) });
      result.recovered.push(j.id);
      result.files += back.files;
      result.conflicts.push(...back.conflicts);
    }
  } finally {
    release();
  }
  return result;
}
