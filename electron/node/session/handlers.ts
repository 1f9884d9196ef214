// The IPC handler table both front ends share: Electron main calls it from ipcMain.handle, and
// `diskchain serve` from its WebSocket. Every request is checked against shared/ipc.ts before
// anything runs; every answer is a Result with the error in plain words.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ContractError,
  parseRequest,
  type Channel,
  type Disk,
  type EventData,
  type EventName,
  type HostInfo,
  type OpenResult,
  type ParsedReq,
  type Res,
  type Result,
} from '../../../shared/ipc.js';
import type { AccessProfile } from '../../../shared/access.js';
import { diskTop, type DomainReport } from '../../../shared/domain.js';
import type { Plan, VmProfile } from '../../../shared/plan.js';
import type { ScanOutcome, ScannedFile } from '../../../shared/scan.js';
import { applyPlan, closeHelper, recover, undo } from '../relabel/index.js';
import { CANCELLED } from './forest-ops.js';
import { defaultAccount, selinuxEnabled } from './hostinfo.js';
import type { RecentStore } from './recent.js';
import { FolderWatcher } from './watch.js';
import { InspectWorker } from './worker.js';

export interface HandlerHost {
  mode: HostInfo['mode'];
  version: string;
  /** Send an event to the renderer(s). */
  emit<E extends EventName>(event: E, data: EventData<E>): void;
  recent: RecentStore;
  /** A native open dialog; absent where there is none. */
  showOpenDialog?: (kind: 'image' | 'folder') => Promise<string[]>;
}

/** Plans kept for `apply`, oldest dropped first. */
const MAX_PLANS = 32;
/** Domains kept open (for Relabel with their profile), oldest dropped first. */
const MAX_DOMAINS = 16;

interface OpenDomain {
  input: { file?: string; text?: string; virshName?: string };
  report: DomainReport;
}

type Handler<C extends Channel> = (req: ParsedReq<C>) => Promise<Res<C>>;

/** Absolute path from what a user typed: `~` is the home folder, relative paths are refused. */
export function userPath(p: string): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/')) s = path.join(os.homedir(), s.slice(1));
  if (!path.isAbsolute(s)) throw new ContractError(`type an absolute path (starting with /), not '${p}'`);
  return path.normalize(s).replace(/(.)\/+$/, '$1');
}

/** A scanned image nothing uses: a disk a plan may start from. */
function isTop(f: ScannedFile): boolean {
  return f.isImage && !f.external && f.usedBy.length === 0;
}

export class Session {
  private readonly worker = new InspectWorker();
  /** What the user opened, in order (images and folders): the renderer reopens these. */
  private opened: string[] = [];
  /** Folders the user opened: files there may change (besides each top's own folder). */
  private readonly folders = new Set<string>();
  /** Real paths of the disks' top images: the only things a plan may start from. */
  private readonly tops = new Set<string>();
  private readonly plans = new Map<string, Plan>();
  private readonly domains = new Map<string, OpenDomain>();
  private lastJournalId: string | null = null;
  /** The scanned forest: its folders, their watcher, and its tops (plans may start from them). */
  private forest: { id: string; roots: string[]; watcher: FolderWatcher; tops: Set<string>; updating: Promise<unknown> } | null = null;
  /** Running scans' cancel flags (shared with the worker, which checks them between files). */
  private readonly scans = new Map<string, Int32Array>();
  /** One change at a time: a plan is applied or undone whole before the next starts. */
  private changing: Promise<unknown> = Promise.resolve();

  private readonly table: { [C in Channel]: Handler<C> } = {
    info: async () => {
      await this.recovering;
      return this.info();
    },
    open: async (req) => this.open(req.paths, !!req.reload, !!req.scanFolders),
    scan: async (req) => this.scan(req.paths),
    cancelScan: async (req) => {
      const flag = this.scans.get(req.id);
      if (flag) Atomics.store(flag, 0, 1);
      return { cancelled: !!flag };
    },
    closeForest: async () => {
      if (this.forest) {
        const roots = this.forest.roots;
        this.opened = this.opened.filter((p) => !roots.includes(p));
        // Closed: its folders no longer count as opened for changes.
        for (const r of roots) this.folders.delete(r);
      }
      this.dropForest();
      return {};
    },
    close: async (req) => {
      const p = userPath(req.path);
      this.opened = this.opened.filter((x) => x !== p);
      return {};
    },
    plan: async (req) => {
      this.mustBeOpen(req.top);
      const dom = req.domain ? this.domainFor(req.domain, req.top) : null;
      const profile: VmProfile | undefined = dom ? this.domainProfile(dom) : undefined;
      const plan = await this.worker.call('plan', req.action, req.top, (profile ?? req.profile)!, this.openedFolders());
      return this.keep(plan);
    },
    domain: async (req) => {
      const again = req.reopen ? this.domainFor(req.reopen) : null;
      const input = again?.input ?? (req.file !== undefined ? { file: userPath(req.file) } : req.text !== undefined ? { text: req.text } : { virshName: req.virsh! });
      const { report } = await this.worker.call('domain', input);
      const id = req.reopen ?? `domain-${randomBytes(8).toString('hex')}`;
      this.domains.delete(id);
      this.domains.set(id, { input, report });
      while (this.domains.size > MAX_DOMAINS) this.domains.delete(this.domains.keys().next().value!);
      // The domain names its disks: each local top may be planned from, as if opened.
      for (const d of report.disks) {
        const top = diskTop(d);
        if (top) this.tops.add(top);
      }
      return { ...report, id };
    },
    export: async (req) => {
      this.mustBeOpen(req.top);
      return this.worker.call('exportChain', req.top, req.kind);
    },
    access: async (req) => {
      this.mustBeOpen(req.top);
      const dom = req.domain ? this.domainFor(req.domain, req.top) : null;
      let who: AccessProfile;
      if (dom) {
        const p = this.domainProfile(dom);
        const disk = dom.report.disks.find((d) => diskTop(d) === req.top);
        who = { user: p.user, group: p.group, readonly: disk?.readonly ?? false, shareable: disk?.shareable ?? false, ...(p.imageLabel ? { imageLabel: p.imageLabel } : {}) };
      } else {
        who = { ...req.profile! };
      }
      const r = await this.worker.call('access', req.top, { ...who, allowRoots: [], openedFolders: this.openedFolders() });
      if (r.plan) this.keep(r.plan);
      return r;
    },
    apply: async (req) => {
      const plan = this.plans.get(req.planId);
      if (!plan) throw new ContractError('this preview is out of date; preview the change again');
      if (plan.refusals.length) {
        throw new ContractError(`nothing was changed: ${plan.refusals.map((r) => r.message).join('; ')}`);
      }
      this.plans.delete(req.planId);
      return this.exclusive(async () => {
        const total = plan.entries.filter((e) => e.changes.length > 0).length + (plan.access?.folders.filter((f) => f.changes.length > 0).length ?? 0);
        this.host.emit('progress', { planId: plan.id, done: 0, total });
        const result = await applyPlan(plan);
        this.host.emit('progress', { planId: plan.id, done: result.ok === false ? 0 : total, total });
        if (result.ok !== false && result.journalId) this.lastJournalId = result.journalId;
        return result;
      });
    },
    undo: async (req) => {
      const id = req.journalId ?? this.lastJournalId ?? undefined;
      return this.exclusive(async () => {
        const result = await undo(id);
        if (result.ok !== false && (!req.journalId || req.journalId === this.lastJournalId)) this.lastJournalId = null;
        return result;
      });
    },
    recent: async () => ({ paths: this.host.recent.list() }),
    dialog: async (req) => {
      if (!this.host.showOpenDialog) throw new ContractError('there are no native dialogs here; type the path instead');
      return { paths: await this.host.showOpenDialog(req.kind) };
    },
  };

  private mustBeOpen(top: string): void {
    if (!this.tops.has(top) && !this.forest?.tops.has(top)) throw new ContractError(`${top} is not an open disk; open it first`);
  }

  private keep(plan: Plan): Plan {
    this.plans.set(plan.id, plan);
    while (this.plans.size > MAX_PLANS) this.plans.delete(this.plans.keys().next().value!);
    return plan;
  }

  private domainFor(id: string, top?: string): OpenDomain {
    const d = this.domains.get(id);
    if (!d) throw new ContractError('this domain is no longer open; open it again');
    // A domain's profile and folders serve its own disks only.
    if (top !== undefined && !d.report.disks.some((k) => diskTop(k) === top)) {
      throw new ContractError(`${top} is not a disk of domain ${d.report.name ?? id}`);
    }
    return d;
  }

  /** The profile libvirt would use for the domain, as resolved here (never as the renderer says). */
  private domainProfile(d: OpenDomain): VmProfile {
    if (!d.report.profile) throw new ContractError(`the domain's profile could not be resolved: ${d.report.profileError ?? 'unknown reason'}`);
    return d.report.profile.profile;
  }

  /** Folders the user opened: where files may change (a domain's XML opens none, see electron/node/change/consent.ts). */
  private openedFolders(): string[] {
    return [...this.folders];
  }

  /** Said once to the renderer at start (a recovery of an interrupted change, for instance). */
  private readonly notices: string[] = [];
  private readonly recovering: Promise<unknown>;

  constructor(private readonly host: HandlerHost, initialPaths: string[] = [], opts: { recover?: boolean } = {}) {
    for (const p of initialPaths) this.remember(p);
    this.worker.warm();
    // A change killed half-way is put back before anything else changes files.
    this.recovering = opts.recover === false ? Promise.resolve() : this.exclusive(async () => {
      try {
        const r = await recover();
        if (r.recovered.length) {
          this.notices.push(`An interrupted change was put back (${r.files} file${r.files === 1 ? '' : 's'}).`);
        }
        for (const c of r.conflicts) this.notices.push(`${c.path}: ${c.message}`);
      } catch (e) {
        this.notices.push(`Could not check for interrupted changes: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
  }

  private remember(p: string): void {
    if (!this.opened.includes(p)) this.opened.push(p);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changing.then(fn, fn);
    this.changing = run.catch(() => undefined);
    return run;
  }

  info(): HostInfo {
    const account = defaultAccount();
    return {
      mode: this.host.mode,
      version: this.host.version,
      selinux: selinuxEnabled(),
      defaultUser: account.user,
      defaultGroup: account.group,
      dialogs: !!this.host.showOpenDialog,
      opened: [...this.opened],
      lastJournalId: this.lastJournalId,
      notices: [...this.notices],
    };
  }

  async open(paths: string[], reload: boolean, scanFolders = false): Promise<OpenResult> {
    const disks: Disk[] = [];
    const errors: OpenResult['errors'] = [];
    const folders: string[] = [];
    for (const typed of paths) {
      let p: string;
      try {
        p = userPath(typed);
      } catch (e) {
        errors.push({ path: typed, message: (e as Error).message });
        continue;
      }
      const r = await this.worker.call('open', p, scanFolders);
      errors.push(...r.errors);
      if (scanFolders && r.folder) {
        folders.push(r.folder);
        continue;
      }
      if (r.folder) this.folders.add(r.folder);
      for (const d of r.disks) {
        this.tops.add(d.top);
        disks.push(d);
      }
      // A reload re-reads what is open already: neither a new entry nor a recent file.
      if ((r.disks.length || r.folder) && !reload) {
        this.remember(p);
        this.host.recent.add(p);
      }
    }
    return scanFolders ? { disks, errors, folders } : { disks, errors };
  }

  /** Scan folders (with those scanned already) into the forest, then watch them. */
  async scan(paths: string[]): Promise<ScanOutcome> {
    const given: string[] = [];
    for (const typed of paths) {
      const p = userPath(typed);
      let real: string;
      try {
        real = fs.realpathSync.native(p);
        if (!fs.statSync(real).isDirectory()) throw new ContractError(`${p} is not a folder; open an image to see its chain`);
      } catch (e) {
        if (e instanceof ContractError) throw e;
        throw new ContractError(`${p} cannot be scanned: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`);
      }
      given.push(real);
    }
    // Folders inside another scanned folder are scanned with it.
    const all = [...new Set([...(this.forest?.roots ?? []), ...given])].sort();
    const roots = all.filter((r) => !all.some((o) => o !== r && (r.startsWith(o.endsWith('/') ? o : `${o}/`))));
    const id = randomBytes(9).toString('hex');
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    this.scans.set(id, cancel);
    let last = { done: 0, total: 0 };
    this.host.emit('scan-progress', { id, ...last });
    let r;
    try {
      r = await this.worker.callWithProgress('scan', (done, total) => {
        last = { done, total };
        this.host.emit('scan-progress', { id, done, total });
      }, id, roots, cancel);
    } catch (e) {
      if ((e as Error).message === CANCELLED) return { status: 'cancelled', id, ...last };
      throw e;
    } finally {
      this.scans.delete(id);
    }
    this.dropForest();
    const watcher = new FolderWatcher((changed) => this.forestChanged(id, changed));
    watcher.add(r.dirs);
    const tops = new Set<string>();
    for (const f of r.forest.files) if (isTop(f)) tops.add(f.path);
    this.forest = { id, roots, watcher, tops, updating: Promise.resolve() };
    for (const root of roots) {
      this.folders.add(root);
      this.remember(root);
    }
    for (const p of given) this.host.recent.add(p);
    return { status: 'done', forest: r.forest };
  }

  /** Files changed under the scanned folders: re-read those, send the renderer what changed. */
  private forestChanged(id: string, paths: string[]): void {
    const f = this.forest;
    if (!f || f.id !== id) return;
    f.updating = f.updating.then(async () => {
      if (this.forest !== f) return;
      const d = await this.worker.call('updateForest', id, paths);
      if (!d || this.forest !== f) return;
      if (d.newDirs.length) f.watcher.add(d.newDirs);
      for (const p of d.remove) f.tops.delete(p);
      for (const file of d.upsert) {
        if (isTop(file)) f.tops.add(file.path);
        else f.tops.delete(file.path);
      }
      this.host.emit('forest-delta', { id, upsert: d.upsert, remove: d.remove, reread: d.reread, reads: d.reads, summary: d.summary, totalReads: d.totalReads });
    }).catch(() => undefined);
  }

  private dropForest(): void {
    const f = this.forest;
    if (!f) return;
    this.forest = null;
    f.watcher.close();
    void this.worker.call('dropForest', f.id).catch(() => undefined);
  }

  /** Validate, run, wrap: what both transports call for every request. */
  async handle(channel: unknown, payload: unknown): Promise<Result<unknown>> {
    try {
      const req = parseRequest(channel, payload);
      const fn = this.table[channel as Channel] as (r: unknown) => Promise<unknown>;
      return { ok: true, value: await fn(req) };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  async close(): Promise<void> {
    for (const flag of this.scans.values()) Atomics.store(flag, 0, 1);
    this.forest?.watcher.close();
    await this.recovering.catch(() => undefined);
    await this.worker.close();
    closeHelper();
  }
}
