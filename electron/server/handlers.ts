// The IPC handler table both front ends share: Electron main calls it from ipcMain.handle, and
// `diskchain serve` from its WebSocket. Every request is checked against shared/ipc.ts before
// anything runs; every answer is a Result with the error in plain words.
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
} from '../../shared/ipc.js';
import type { Plan } from '../../shared/plan.js';
import { applyPlan, closeHelper, recover, undo } from '../relabel/index.js';
import { defaultAccount, selinuxEnabled } from './hostinfo.js';
import type { RecentStore } from './recent.js';
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

type Handler<C extends Channel> = (req: ParsedReq<C>) => Promise<Res<C>>;

/** Absolute path from what a user typed: `~` is the home folder, relative paths are refused. */
export function userPath(p: string): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/')) s = path.join(os.homedir(), s.slice(1));
  if (!path.isAbsolute(s)) throw new ContractError(`type an absolute path (starting with /), not '${p}'`);
  return path.normalize(s).replace(/(.)\/+$/, '$1');
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
  private lastJournalId: string | null = null;
  /** One change at a time: a plan is applied or undone whole before the next starts. */
  private changing: Promise<unknown> = Promise.resolve();

  private readonly table: { [C in Channel]: Handler<C> } = {
    info: async () => {
      await this.recovering;
      return this.info();
    },
    open: async (req) => this.open(req.paths, !!req.reload),
    close: async (req) => {
      const p = userPath(req.path);
      this.opened = this.opened.filter((x) => x !== p);
      return {};
    },
    plan: async (req) => {
      if (!this.tops.has(req.top)) throw new ContractError(`${req.top} is not an open disk; open it first`);
      const plan = await this.worker.call('plan', req.action, req.top, req.profile, [...this.folders]);
      this.plans.set(plan.id, plan);
      while (this.plans.size > MAX_PLANS) this.plans.delete(this.plans.keys().next().value!);
      return plan;
    },
    apply: async (req) => {
      const plan = this.plans.get(req.planId);
      if (!plan) throw new ContractError('this preview is out of date; preview the change again');
      if (plan.refusals.length) {
        throw new ContractError(`nothing was changed: ${plan.refusals.map((r) => r.message).join('; ')}`);
      }
      this.plans.delete(req.planId);
      return this.exclusive(async () => {
        const total = plan.entries.filter((e) => e.changes.length > 0).length;
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

  /** Said once to the renderer at start (a recovery of an interrupted change, for instance). */
  private readonly notices: string[] = [];
  private readonly recovering: Promise<unknown>;

  constructor(private readonly host: HandlerHost, initialPaths: string[] = [], opts: { recover?: boolean } = {}) {
    for (const p of initialPaths) this.remember(p);
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

  async open(paths: string[], reload: boolean): Promise<OpenResult> {
    const disks: Disk[] = [];
    const errors: OpenResult['errors'] = [];
    for (const typed of paths) {
      let p: string;
      try {
        p = userPath(typed);
      } catch (e) {
        errors.push({ path: typed, message: (e as Error).message });
        continue;
      }
      const r = await this.worker.call('open', p);
      errors.push(...r.errors);
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
    return { disks, errors };
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
    await this.recovering.catch(() => undefined);
    await this.worker.close();
    closeHelper();
  }
}
