// The remote hosts of one window (Electron main or `diskchain serve`): the hosts kept in
// hosts.json, each host's state as the forest shows it, lazy connections (at most 4 handshakes at
// once), and the routing of a host's requests to its agent. Events from a host come back tagged
// with its id; after a reconnect, the folders scanned there are scanned again and the forest sent.
import {
  events,
  isEvent,
  splitRemoteId,
  type Channel,
  type EventData,
  type HostStateName,
  type HostStatus,
  type Req,
  type Res,
} from '../../../shared/ipc.js';
import type { Emit } from '../session/host.js';
import { treeBatches } from '../session/forest-batches.js';
import { AgentConnection, RemoteError, type ConnectOptions } from './connection.js';
import { SCAN_SINCE_BATCHES, SudoPromptSchema, SUDO_PROMPT_EVENT } from '../../../shared/agent.js';
import type { Prompt } from './askpass.js';
import { Gate } from './hub-gate.js';
import { HubPrompts, promptKindFor } from './hub-prompts.js';
import { connectionState, failureState } from './hub-state.js';
import { parseHostSpec, type HostSpec } from './host-spec.js';
import { scanHostKeys, trustHostKeys } from './hostkey.js';
import { addHosts, listHosts, removeHost, setHostFolders } from './hosts-store.js';
import type { RemoteHosts } from '../session/remote-hosts.js';

export const MAX_HANDSHAKES = 4;

/** The request as the host's agent understands it: an agent without SCAN_SINCE_BATCHES answers a scan whole. */
export function forAgent<C extends Channel>(conn: AgentConnection, channel: C, payload: Req<C>): Req<C> {
  if (channel !== 'scan' || !(payload as Req<'scan'>).drawn || conn.hello?.capabilities.includes(SCAN_SINCE_BATCHES)) return payload;
  const { drawn: _, ...rest } = payload as Req<'scan'>;
  return rest as Req<C>;
}

/** A host's batches reach the window in parts of about this many files (whole trees). */
const WINDOW_BATCH_FILES = 250;
/** Events a host may send on to the window: never commands, never paths to open here. */
const FORWARDED = new Set(['progress', 'scan-progress', 'forest-batch', 'forest-delta', 'notice']);

/** Plans remembered per host for `apply`, oldest dropped first. */
const MAX_PLANS = 256;

/** Sudo questions a host announced that the askpass queue has not brought yet, oldest dropped first. */
const MAX_SUDO_ASKED = 8;

interface Entry {
  spec: HostSpec;
  url: string;
  state: HostStateName;
  message: string | null;
  fingerprints?: string[];
  conn: AgentConnection | null;
  handshake: Promise<void> | null;
  /** Folders scanned there (kept in hosts.json): scanned again on connect and after a reconnect. */
  folders: Set<string>;
  /** The last change applied there, which an `undo` without an id reverts. */
  lastJournal: string | null;
  privilege?: HostStatus['privilege'];
  /** The connection was ready once: a later `ready` is a reconnect. */
  wasReady: boolean;
  /** The words of the host's sudo questions on their way through the askpass queue. */
  sudoAsked: string[];
}

export interface HubOptions {
  emit: Emit;
  connect?: ConnectOptions;
  maxHandshakes?: number;
  /** How long a question to the user waits before it is cancelled (default 5 min). */
  promptWaitMs?: number;
}

export class Hub implements RemoteHosts {
  private entries: Map<string, Entry> | null = null;
  private readonly gate: Gate;
  /** planId → the host that made it (apply goes there). */
  private readonly planHosts = new Map<string, string>();
  private closed = false;
  private readonly prompts: HubPrompts;

  constructor(private readonly opts: HubOptions) {
    this.gate = new Gate(opts.maxHandshakes ?? MAX_HANDSHAKES);
    this.prompts = new HubPrompts(opts.emit, opts.promptWaitMs);
  }

  /** Handshakes running now (the bench and tests check the bound). */
  get handshakes(): number {
    return this.gate.active;
  }

  private all(): Map<string, Entry> {
    if (this.entries) return this.entries;
    this.entries = new Map();
    for (const h of listHosts()) {
      try {
        this.track(parseHostSpec(h.spec), h.spec, h.folders);
      } catch {
        // A hand-edited entry that no longer parses is left in the file, not shown.
      }
    }
    return this.entries;
  }

  private track(spec: HostSpec, url: string, folders: string[] = []): Entry {
    const e: Entry = {
      spec,
      url,
      state: 'idle',
      message: null,
      conn: null,
      handshake: null,
      folders: new Set(folders),
      lastJournal: null,
      wasReady: false,
      sudoAsked: [],
    };
    this.all().set(spec.id, e);
    return e;
  }

  private entry(host: string): Entry {
    const e = this.all().get(host);
    if (!e) throw new Error(`${host} is not one of the hosts; add it first`);
    return e;
  }

  private status(e: Entry): HostStatus {
    return {
      id: e.spec.id,
      spec: e.url,
      state: e.state,
      message: e.message,
      ...(e.fingerprints ? { fingerprints: e.fingerprints } : {}),
      folders: [...e.folders],
      ...(e.privilege ? { privilege: e.privilege } : {}),
    };
  }

  private setState(e: Entry, state: HostStateName, message: string | null = null): void {
    e.state = state;
    e.message = message;
    if (state !== 'unknown-host-key') delete e.fingerprints;
    if (this.all().get(e.spec.id) === e) this.opts.emit('host-state', this.status(e));
  }

  list(): HostStatus[] {
    return [...this.all().values()].map((e) => this.status(e));
  }

  /** Keep a new host and connect to it (the answer says how that went). */
  async add(text: string): Promise<HostStatus> {
    const spec = parseHostSpec(text.trim());
    const [stored] = addHosts([spec]);
    const e = this.all().get(spec.id) ?? this.track(spec, stored?.spec ?? text.trim());
    return this.connect(e.spec.id);
  }

  async remove(host: string): Promise<boolean> {
    const e = this.all().get(host);
    this.all().delete(host);
    this.prompts.cancelHost(host);
    for (const [plan, h] of this.planHosts) if (h === host) this.planHosts.delete(plan);
    const conn = e?.conn;
    if (e) e.conn = null;
    await conn?.close();
    return removeHost(host) || !!e;
  }

  /**
   * Trust the key the user was shown: it is fetched again and must have exactly the fingerprints
   * shown (a key that changed in between is not trusted), then written where ssh reads it.
   */
  async trustKey(host: string, shown: string[]): Promise<HostStatus> {
    const e = this.entry(host);
    if (e.state !== 'unknown-host-key') throw new Error(`${host} has no unknown host key to trust (it is ${e.state})`);
    const keys = scanHostKeys(e.spec);
    const same = keys.fingerprints.length === shown.length && [...keys.fingerprints].sort().every((f, i) => f === [...shown].sort()[i]);
    if (!same) {
      e.fingerprints = keys.fingerprints;
      throw new Error(`the host key of ${host} is not the one shown: look at its fingerprint again before trusting it`);
    }
    trustHostKeys(e.spec, keys);
    this.setState(e, 'idle');
    return this.connect(host);
  }

  /** Connect if not connected (one handshake per host; at most MAX_HANDSHAKES at once). */
  async connect(host: string): Promise<HostStatus> {
    const e = this.entry(host);
    if (!e.conn && !e.handshake) {
      e.handshake = this.gate
        .run(() => this.handshake(e))
        .finally(() => {
          e.handshake = null;
        });
    }
    await e.handshake;
    return this.status(e);
  }

  private async handshake(e: Entry): Promise<void> {
    if (this.closed || this.all().get(e.spec.id) !== e) return;
    this.setState(e, 'connecting');
    const conn = new AgentConnection(e.spec, { prompt: (p) => this.ask(e, p), ...this.opts.connect });
    conn.on('event', (name: string, data: unknown) => this.forward(e, name, data));
    try {
      await conn.connect();
    } catch (err) {
      await conn.close();
      const { state, message } = failureState(e.spec.id, err);
      if (state === 'unknown-host-key') e.fingerprints = this.fingerprints(e.spec);
      this.setState(e, state, message);
      return;
    }
    if (this.closed || this.all().get(e.spec.id) !== e) return void conn.close();
    e.conn = conn;
    e.wasReady = true;
    conn.on('state', (s: AgentConnection['state']) => this.onConnState(e, conn, s));
    this.setState(e, 'connected');
    // The folders kept from an earlier session come back without the user opening them again.
    if (e.folders.size) void this.reopen(e);
  }

  private fingerprints(spec: HostSpec): string[] | undefined {
    try {
      return scanHostKeys(spec).fingerprints;
    } catch {
      return undefined;
    }
  }

  private onConnState(e: Entry, conn: AgentConnection, s: AgentConnection['state']): void {
    if (e.conn !== conn) return;
    const state = connectionState(s);
    if (!state) return;
    if (state === 'offline') {
      // The connection gave up without saying why (a changed host key, a removed agent, the
      // host gone): one new handshake finds out, and sets the state that names the reason.
      e.conn = null;
      void conn.close();
      this.setState(e, 'offline', `${e.spec.id} is unreachable; it is tried again on the next request`);
      void this.connect(e.spec.id).catch(() => undefined);
      return;
    }
    this.setState(e, state, state === 'reconnecting' ? `the connection to ${e.spec.id} dropped; reconnecting` : null);
    if (state === 'connected' && e.folders.size) void this.reopen(e);
  }

  /** After a reconnect the new agent has nothing open: scan the host's folders again. */
  private async reopen(e: Entry): Promise<void> {
    try {
      const r = (await this.request(e.spec.id, 'scan', { paths: [...e.folders] })) as Res<'scan'>;
      if (r.status === 'done') this.opts.emit('host-forest', { host: e.spec.id, forest: r.forest });
    } catch (err) {
      this.opts.emit('notice', { text: `${e.spec.id}: the forest could not be reopened after a reconnect: ${(err as Error).message}` });
    }
  }

  /** A question of the host's ssh or sudo, for the user (the askpass queue brings one at a time). */
  private ask(e: Entry, p: Prompt): Promise<string | null> {
    const i = e.sudoAsked.indexOf(p.text);
    if (i >= 0) e.sudoAsked.splice(i, 1);
    return this.prompts.ask(p, promptKindFor(p, i >= 0));
  }

  /** The user's answer to a `host-prompt` (null: cancelled); false when it no longer waits. */
  answerPrompt(promptId: string, answer: string | null): boolean {
    return this.prompts.answer(promptId, answer);
  }

  private forward(e: Entry, name: string, data: unknown): void {
    if (name === SUDO_PROMPT_EVENT) {
      const q = SudoPromptSchema.safeParse(data);
      // The words as the askpass queue passes them on (ask-queue.ts bounds them the same way).
      if (q.success) e.sudoAsked = [...e.sudoAsked, q.data.text.slice(0, 4096)].slice(-MAX_SUDO_ASKED);
      return;
    }
    if (!FORWARDED.has(name) || !isEvent(name)) return;
    const parsed = events[name].safeParse(data);
    if (!parsed.success) return;
    const host = e.spec.id;
    if (name === 'notice') {
      const text = (parsed.data as EventData<'notice'>).text;
      return this.opts.emit('notice', { text: text.startsWith(host) ? text : `${host}: ${text}`.slice(0, 4096) });
    }
    if (name === 'forest-batch') {
      // An agent's batch is cut again into smaller ones of whole trees: the window parses and
      // draws each message in one go, and eight hosts' 2,000-file batches held up its frames.
      const b = parsed.data as EventData<'forest-batch'>;
      const parts = b.files.length > WINDOW_BATCH_FILES ? treeBatches(b.files, WINDOW_BATCH_FILES) : [b.files];
      for (const files of parts) this.opts.emit('forest-batch', { ...b, files, host });
      return;
    }
    this.opts.emit(name, { ...(parsed.data as object), host } as EventData<typeof name>);
  }

  /** Send a request to a host's agent, connecting first when it is not connected. */
  async request<C extends Channel>(host: string, channel: C, payload: Req<C>): Promise<Res<C>> {
    const e = this.entry(host);
    if (!e.conn) await this.connect(host);
    if (!e.conn) throw new Error(e.message ?? `${host} is not connected`);
    let res: Res<C>;
    try {
      res = (await e.conn.request(channel, forAgent(e.conn, channel, payload))) as Res<C>;
    } catch (err) {
      // Reading still works there; changes need sudo: the host's row says why and what to run.
      if (err instanceof RemoteError && err.code === 'no-sudo') {
        e.privilege = { code: 'no-sudo', message: err.message };
        this.setState(e, e.state, e.message);
      }
      throw err;
    }
    this.remember(host, e, channel, res, payload);
    return res;
  }

  private remember(host: string, e: Entry, channel: Channel, res: unknown, payload: unknown): void {
    if (channel === 'scan' && (res as Res<'scan'>).status === 'done') {
      for (const root of (res as Extract<Res<'scan'>, { status: 'done' }>).forest.roots) e.folders.add(root);
      this.keepFolders(e);
    } else if (channel === 'closeForest') {
      e.folders.clear();
      this.keepFolders(e);
    } else if (channel === 'apply' || channel === 'undo') {
      this.changed(e, channel, res as Res<'apply'>, (payload as Req<'undo'>).journalId);
    } else if ((channel === 'plan' || channel === 'access') && res) {
      const plan = channel === 'plan' ? (res as Res<'plan'>) : (res as Res<'access'>).plan;
      if (plan) {
        this.planHosts.set(plan.id, host);
        if (this.planHosts.size > MAX_PLANS) this.planHosts.delete(this.planHosts.keys().next().value!);
      }
    }
  }

  private keepFolders(e: Entry): void {
    try {
      setHostFolders(e.spec.id, [...e.folders]);
    } catch (err) {
      this.opts.emit('notice', { text: `${e.spec.id}: its folders could not be kept for the next session: ${(err as Error).message}` });
    }
  }

  /** A change that went through there: sudo works, and an apply is what the next undo reverts. */
  private changed(e: Entry, channel: 'apply' | 'undo', res: Res<'apply'>, undone?: string): void {
    if (e.privilege) {
      delete e.privilege;
      this.setState(e, e.state, e.message);
    }
    if (res.ok === false) return;
    if (channel === 'apply' && res.journalId) e.lastJournal = res.journalId;
    else if (channel === 'undo' && (!undone || undone === e.lastJournal)) e.lastJournal = null;
  }

  /** The last change applied on `host` (the id its `undo` reverts), if there was one this session. */
  lastJournal(host: string): string | null {
    return this.all().get(host)?.lastJournal ?? null;
  }

  /** The host whose last change has this journal id, if one has. */
  journalHost(journalId: string): string | undefined {
    for (const [id, e] of this.all()) if (e.lastJournal === journalId) return id;
    return undefined;
  }

  /** The host that made this plan, if a host did. */
  planHost(planId: string): string | undefined {
    return this.planHosts.get(planId);
  }

  /** A `host:path` id of a known host, split; null for a local path. */
  route(id: string): { host: string; path: string } | null {
    const r = splitRemoteId(id);
    return r && this.all().has(r.host) ? r : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.prompts.close();
    const conns = [...(this.entries?.values() ?? [])].map((e) => e.conn).filter((c): c is AgentConnection => !!c);
    await Promise.all(conns.map((c) => c.close()));
  }
}
