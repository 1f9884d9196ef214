// The IPC handler table both front ends share: Electron main calls it from ipcMain.handle, and
// `diskchain serve` from its WebSocket. Every request is checked against shared/ipc.ts before
// anything runs; every answer is a Result with the error in plain words. The table is the
// session's state (what is open) composed with its plans, domains and scanned forest.
import {
  ContractError,
  parseRequest,
  type Channel,
  type Disk,
  type HostInfo,
  type OpenResult,
  type ParsedReq,
  type Res,
  type Result,
} from '../../../shared/ipc.js';
import { diskTop } from '../../../shared/domain.js';
import { allowedRoots } from '../change/consent.js';
import { closeHelper, listJournal } from '../helper/api.js';
import { Domains } from './domains.js';
import { Forest, scannableFolder } from './forest.js';
import type { Emit, HandlerHost } from './host.js';
import { defaultAccount, selinuxEnabled } from './hostinfo.js';
import { Plans } from './plans.js';
import { userPath } from './user-path.js';
import { InspectWorker } from './worker.js';
import { errorText } from '../../../shared/error-text.js';
import { makeRemoteHosts, type RemoteHosts } from './remote-hosts.js';

type Handler<C extends Channel> = (req: ParsedReq<C>) => Promise<Res<C>>;

/** Notices kept for `info`, oldest dropped first. */
const MAX_NOTICES = 16;

export interface SessionOptions {
  /** Put back an interrupted change at start (default); tests that change nothing skip it. */
  recover?: boolean;
  /** The inspection worker to use (one is started otherwise). */
  worker?: InspectWorker;
  /** Remote hosts for this session's window; the provided maker's on first use otherwise. */
  hub?: RemoteHosts;
}

export class Session {
  private readonly worker: InspectWorker;
  /** What the user opened, in order (images and folders): the renderer reopens these. */
  private opened: string[] = [];
  /** Folders the user opened: files there may change (besides each top's own folder). */
  private readonly folders = new Set<string>();
  /** Real paths of the disks' top images: the only things a plan may start from (besides the forest's). */
  private readonly tops = new Set<string>();
  private readonly plans: Plans;
  private readonly domains: Domains;
  private readonly forest: Forest;
  /** Things to tell the user (a recovery of an interrupted change at start, a failed forest update). */
  private readonly notices: string[] = [];
  private readonly recovering: Promise<unknown>;
  private hubInstance: RemoteHosts | null;
  /** The host of the last change applied from this window (null: it was local): what `undo` reverts. */
  private lastChangeHost: string | null = null;

  private readonly table: { [C in Channel]: Handler<C> } = {
    info: async () => {
      await this.recovering;
      return this.info();
    },
    open: async (req) => this.open(req.paths, !!req.reload, !!req.scanFolders),
    scan: async (req) => {
      if (req.host) return this.hub.request(req.host, 'scan', { paths: req.paths, ...(req.drawn ? { drawn: true } : {}) });
      const given = req.paths.map(scannableFolder);
      const r = await this.forest.scan(given, !!req.drawn);
      if (r.status === 'done') {
        for (const root of this.forest.roots) {
          this.folders.add(root);
          this.remember(root);
        }
        for (const p of given) this.host.recent.add(p);
      }
      return r;
    },
    cancelScan: async (req) =>
      req.host ? this.hub.request(req.host, 'cancelScan', { id: req.id }) : { cancelled: this.forest.cancel(req.id) },
    closeForest: async (req) => {
      if (req.host) return this.hub.request(req.host, 'closeForest', {});
      const roots = this.forest.roots;
      this.opened = this.opened.filter((p) => !roots.includes(p));
      // Closed: its folders no longer count as opened for changes.
      for (const r of roots) this.folders.delete(r);
      this.forest.drop();
      return {};
    },
    close: async (req) => {
      const p = userPath(req.path);
      this.opened = this.opened.filter((x) => x !== p);
      return {};
    },
    plan: async (req) => {
      const remote = this.hubRoute(req.top);
      if (remote) return this.hub.request(remote.host, 'plan', { ...req, top: remote.path });
      this.mustBeOpen(req.top);
      const profile = req.domain ? this.domains.profile(req.domain, req.top) : req.profile!;
      return this.plans.keep(await this.worker.call('plan', req.action, req.top, profile, this.openedFolders()));
    },
    domain: async (req) => {
      const res = await this.domains.read(req);
      // The domain names its disks: each local top may be planned from, as if opened.
      for (const d of res.disks) {
        const top = diskTop(d);
        if (top) this.tops.add(top);
      }
      return res;
    },
    export: async (req) => {
      const remote = this.hubRoute(req.top);
      if (remote) return this.hub.request(remote.host, 'export', { ...req, top: remote.path });
      this.mustBeOpen(req.top);
      return this.worker.call('exportChain', req.top, req.kind, { target: req.target, bus: req.bus, readonly: req.readonly });
    },
    // Reads only: the files a record names are looked up and checked, nothing changes.
    explain: async (req) => this.worker.call('explain', req.text, this.openedFolders()),
    access: async (req) => {
      const remote = this.hubRoute(req.top);
      if (remote) return this.hub.request(remote.host, 'access', { ...req, top: remote.path });
      this.mustBeOpen(req.top);
      const who = req.domain ? this.domains.accessProfile(req.domain, req.top) : { ...req.profile! };
      const r = await this.worker.call('access', req.top, { ...who, allowRoots: [], openedFolders: this.openedFolders() });
      if (r.plan) this.plans.keep(r.plan);
      return r;
    },
    apply: async (req) => {
      // A plan a host made is applied there, by that host's helper.
      const host = this.hubInstance?.planHost(req.planId) ?? null;
      const r = host ? await this.hub.request(host, 'apply', req) : await this.plans.apply(req.planId);
      if (r.ok !== false && r.journalId) this.lastChangeHost = host;
      return r;
    },
    cancelApply: async (req) => {
      const host = this.hubInstance?.planHost(req.planId);
      return host ? this.hub.request(host, 'cancelApply', req) : { cancelled: this.plans.cancel(req.planId) };
    },
    undo: async (req) => this.undo(req.journalId),
    allowFolders: async (req) => this.allowFolders(req.folders),
    history: async () => ({ entries: listJournal() }),
    recent: async () => ({ paths: this.host.recent.list() }),
    dialog: async (req) => {
      if (!this.host.showOpenDialog) throw new ContractError('there are no native dialogs here; type the path instead');
      return { paths: await this.host.showOpenDialog(req.kind) };
    },
    hostsList: async () => ({ hosts: this.hub.list() }),
    hostAdd: async (req) => this.hub.add(req.spec),
    hostRemove: async (req) => ({ removed: await this.hub.remove(req.host) }),
    hostTrustKey: async (req) => this.hub.trustKey(req.host, req.fingerprints),
    hostConnect: async (req) => this.hub.connect(req.host),
    hostPromptAnswer: async (req) => ({ answered: this.hub.answerPrompt(req.promptId, req.answer) }),
  };

  constructor(
    private readonly host: HandlerHost,
    initialPaths: string[] = [],
    opts: SessionOptions = {},
  ) {
    this.worker = opts.worker ?? new InspectWorker();
    this.hubInstance = opts.hub ?? null;
    const emit: Emit = (event, data) => host.emit(event, data);
    this.plans = new Plans(emit);
    this.domains = new Domains(this.worker);
    // Background failures reach the open window at once; start-up ones wait in info().notices.
    this.forest = new Forest(this.worker, emit, (text) => emit('notice', { text }));
    for (const p of initialPaths) this.remember(p);
    this.worker.warm();
    this.recovering = opts.recover === false ? Promise.resolve() : this.plans.recover().then((n) => n.forEach((t) => this.notify(t)));
  }

  /** Start the scan threads ahead of a scan that is likely soon (see warmScanPool). */
  warmScan(): void {
    this.worker.call('warmScan').catch(() => undefined);
  }

  /**
   * Revert a change where it was made: a journal id a host's last change has goes to that host;
   * no id reverts the window's last change, on its host when it was remote.
   */
  private async undo(journalId: string | undefined): Promise<Res<'undo'>> {
    const host = journalId ? this.hubInstance?.journalHost(journalId) : this.lastChangeHost;
    if (!host) return this.plans.undo(journalId);
    const id = journalId ?? this.hub.lastJournal(host) ?? undefined;
    const r = await this.hub.request(host, 'undo', id ? { journalId: id } : {});
    if (r.ok !== false && host === this.lastChangeHost) this.lastChangeHost = null;
    return r;
  }

  /** The remote hosts: nothing is read or connected until the first host request. */
  private remoteHosts(): RemoteHosts | null {
    this.hubInstance ??= makeRemoteHosts((event, data) => this.host.emit(event, data));
    return this.hubInstance;
  }

  private get hub(): RemoteHosts {
    const hub = this.remoteHosts();
    if (!hub) throw new ContractError('remote hosts are not available here');
    return hub;
  }

  /** A `host:path` top of a known host (its agent plans there); null for a local one. */
  private hubRoute(top: string): { host: string; path: string } | null {
    return top.startsWith('/') ? null : (this.remoteHosts()?.route(top) ?? null);
  }

  private mustBeOpen(top: string): void {
    if (!this.tops.has(top) && !this.forest.hasTop(top)) throw new ContractError(`${top} is not an open disk; open it first`);
  }

  /** Folders the user opened: where files may change (a domain's XML opens none, see electron/node/change/consent.ts). */
  private openedFolders(): string[] {
    return [...this.folders];
  }

  /** The user agreed to changes in these folders: the consent rules still decide which may be. */
  private allowFolders(folders: string[]): { allowed: string[]; refused: Array<{ path: string; message: string }> } {
    const { roots } = allowedRoots({ opened: folders, libvirt: false });
    // Allowed for changes only: not something the renderer reopens.
    for (const r of roots) this.folders.add(r);
    const refused = folders
      .filter((f) => !roots.includes(f))
      .map((f) => ({ path: f, message: 'may not be allowed: a system folder, not a folder, or one the consent rules refuse' }));
    return { allowed: roots, refused };
  }

  private remember(p: string): void {
    if (!this.opened.includes(p)) this.opened.push(p);
  }

  private notify(text: string): void {
    this.notices.push(text);
    if (this.notices.length > MAX_NOTICES) this.notices.shift();
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
      lastJournalId: this.plans.lastJournalId,
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

  /** Validate, run, wrap: what both transports call for every request. */
  async handle(channel: unknown, payload: unknown): Promise<Result<unknown>> {
    try {
      const req = parseRequest(channel, payload);
      const fn = this.table[channel as Channel] as (r: unknown) => Promise<unknown>;
      return { ok: true, value: await fn(req) };
    } catch (e) {
      return { ok: false, error: errorText(e) };
    }
  }

  async close(): Promise<void> {
    await this.hubInstance?.close();
    this.forest.close();
    await this.recovering.catch(() => undefined);
    await this.worker.close();
    closeHelper();
  }
}
