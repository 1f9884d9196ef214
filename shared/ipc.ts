// The one IPC contract between the renderer and the process that owns the files (Electron main,
// or `diskchain serve`). Channel names map to zod schemas; both ends import this file: the
// preload and the WebSocket client derive their typed API from it, and every request is
// validated against it on arrival. Plain data and zod only: no Node APIs (the renderer imports it).
import { z } from 'zod';
import type { AccessReport } from './access.js';
import type { AgentErrorCode } from './agent.js';
import type { DomainReport } from './domain.js';
import type { ChainNode } from './model.js';
import type { ApplyResult, JournalSummary, Plan } from './plan.js';
import type { ForestDelta, ForestSnapshot, ScannedFile, ScanOutcome } from './scan.js';
import type { Denial } from './verdict.js';
import { IdNameSchema, PathSchema, ProfileInputSchema } from './rules.js';

// ---------------------------------------------------------------------------------------------
// Building blocks (the rules for users, groups, labels and paths live in rules.ts)

export { ContextSchema, DriverSchema, IdNameSchema, MAX_PATH, PathSchema, ProfileInputSchema, type ProfileInput } from './rules.js';

export const ActionSchema = z.enum(['relabel', 'restore']);

const IdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:-]+$/, 'not an id');

/** A domain XML is at most this long (libvirt's own documents are a few KiB). */
export const MAX_DOMAIN_XML = 8 * 1024 * 1024;

/** Where a domain comes from: a file, its pasted text, a name for virsh, or one already open (reread). */
export const DomainReqSchema = z
  .strictObject({
    file: PathSchema.optional(),
    text: z.string().max(MAX_DOMAIN_XML, 'a domain XML is at most 8 MiB'),
    virsh: z.string().regex(/^[A-Za-z0-9_.+:-]{1,200}$/, 'a domain name is letters, digits and _ . + : - (as virsh list shows it)'),
    reopen: IdSchema,
  })
  .partial()
  .refine(
    (r) => [r.file, r.text, r.virsh, r.reopen].filter((x) => x !== undefined).length === 1,
    'give one of a file, the XML text or a domain name',
  );

/** Pasted log text to explain is at most this long (a few records are a few hundred bytes). */
export const MAX_EXPLAIN = 1024 * 1024;

/** Who the access check is for, when no open domain says it. */
export const AccessInputSchema = z.strictObject({
  user: IdNameSchema,
  group: IdNameSchema,
  readonly: z.boolean(),
  shareable: z.boolean(),
});
export type AccessInput = z.infer<typeof AccessInputSchema>;

/** Exactly one of a profile the form gives and an open domain whose profile the owning process keeps. */
function oneProfile(r: { profile?: unknown; domain?: unknown }): boolean {
  return (r.profile === undefined) !== (r.domain === undefined);
}

/**
 * A remote host's id, `user@host:port` as electron/node/remote/host-spec.ts makes it: the host
 * part of forest ids `host:path` (local files have plain absolute paths).
 */
const HOST_ID = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,63}@)?(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):\d{1,5}$/;
export const HostIdSchema = z.string().min(3).max(600).regex(HOST_ID, 'not a host id');

/**
 * Where a host stands, as the forest shows it: not tried yet, connected, or one of the agent
 * contract's connection states (the request refusals are no host state).
 */
export type HostStateName = 'idle' | 'connected' | Exclude<AgentErrorCode, 'no-sudo' | 'bad-request' | 'failed'>;

export interface HostStatus {
  id: string;
  /** The ssh:// URL it was added with. */
  spec: string;
  state: HostStateName;
  /** Why, naming the host (for every state but idle and connected). */
  message: string | null;
  /** With unknown-host-key: the fingerprints the user is asked to trust. */
  fingerprints?: string[];
  /** The folders scanned there (reopened after a reconnect). */
  folders: string[];
  /**
   * Set when a change there was refused for want of sudo (the agent's `no-sudo`): the reason,
   * naming the host and the command to run there. The connection itself stays usable for reading.
   */
  privilege?: { code: 'no-sudo'; message: string };
}

// ---------------------------------------------------------------------------------------------
// Response shapes (produced by the trusted side; typed, not re-validated)

/** One opened disk: a top image and its inspected chain. */
export interface Disk {
  /** The top image's real path (root.path). */
  top: string;
  /** What was opened to find it: the image itself, or its folder. */
  openedAs: string;
  root: ChainNode;
  /** What `qemu-img info --backing-chain --output=json` prints for it (entries by qemu's filename). */
  qemu?: { entries: Record<string, unknown>[]; error: string | null };
}

export interface OpenError {
  path: string;
  message: string;
}

export interface OpenResult {
  disks: Disk[];
  errors: OpenError[];
  /** With `scanFolders`: the folders among the paths (real paths), left for `scan`. */
  folders?: string[];
}

/** An opened domain, with the id Relabel and the access check name it by. */
export type DomainRes = DomainReport & { id: string };

export interface AccessRes {
  report: AccessReport;
  /** The fix to preview and apply (by its id); null when nothing blocks. */
  plan: Plan | null;
}

export interface HostInfo {
  mode: 'electron' | 'serve';
  version: string;
  /** SELinux is enabled on this host (labels can still be read from files elsewhere). */
  selinux: boolean;
  /** The DAC user and group qemu runs as here (qemu.conf), as the relabel form's defaults. */
  defaultUser: string;
  defaultGroup: string;
  /** Native open dialogs exist (Electron). Without them, type a path. */
  dialogs: boolean;
  /** Paths the session has open (given at start, or opened since): the renderer opens them. */
  opened: string[];
  /** The last change this session applied, which `undo` reverts. */
  lastJournalId: string | null;
  /** Things to tell the user once (an interrupted change that was put back at start). */
  notices: string[];
}

export const HostInfoSchema = z.custom<HostInfo>();
const PathsResult = z.object({ paths: z.array(z.string()) });

// ---------------------------------------------------------------------------------------------
// Channels: renderer → owner, request/response

export const channels = {
  /** Who serves the UI and the relabel form's defaults. */
  info: { req: z.strictObject({}), res: HostInfoSchema },
  /** Open images or folders (a folder opens the images in it no other image there uses). */
  open: {
    req: z.strictObject({
      paths: z.array(PathSchema).min(1, 'no path to open').max(64, 'at most 64 paths at once'),
      /** Re-read paths already open (after a change): no recent-files entry. */
      reload: z.boolean().optional(),
      /** Folders are not opened but listed in `folders`, for the renderer to `scan` them. */
      scanFolders: z.boolean().optional(),
    }),
    res: z.custom<OpenResult>(),
  },
  /**
   * Scan folders into the forest of every chain in them (with the folders already scanned):
   * progress arrives as `scan-progress` events, then the forest; a watcher then sends
   * `forest-delta` events as files change. The folders count as opened (plans may change files there).
   */
  scan: {
    req: z.strictObject({
      paths: z.array(PathSchema).min(1, 'no folder to scan').max(64, 'at most 64 folders at once'),
      /** Scan on this remote host (its agent); the local files when absent. */
      host: HostIdSchema.optional(),
      /** The caller draws the `forest-batch` events: answer with what differs from them (`sinceBatches`). */
      drawn: z.boolean().optional(),
    }),
    res: z.custom<ScanOutcome>(),
  },
  /** Stop a running scan (its worker stops between two files). */
  cancelScan: { req: z.strictObject({ id: IdSchema, host: HostIdSchema.optional() }), res: z.object({ cancelled: z.boolean() }) },
  /** Forget the scanned forest and stop watching its folders. */
  closeForest: { req: z.strictObject({ host: HostIdSchema.optional() }), res: z.object({}) },
  /** Forget an opened disk. */
  close: { req: z.strictObject({ path: PathSchema }), res: z.object({}) },
  /** Preview a relabel or restore of an opened disk; nothing changes. */
  plan: {
    req: z
      .strictObject({ action: ActionSchema, top: PathSchema, profile: ProfileInputSchema.optional(), domain: IdSchema.optional() })
      .refine(oneProfile, 'give either a profile or an open domain'),
    res: z.custom<Plan>(),
  },
  /**
   * Open a libvirt domain: each disk's chain as the XML states it beside its headers, the
   * differences, and the VM profile with the source of every value (kept here under `id`).
   */
  domain: { req: DomainReqSchema, res: z.custom<DomainRes>() },
  /** An open disk's chain as libvirt's <disk> XML (backingStore, dataStore) or qemu's -blockdev arguments. */
  export: {
    req: z.strictObject({
      top: PathSchema,
      kind: z.enum(['libvirt-xml', 'blockdev']),
      /** `<target dev>` (vda when not given): letters and digits, as libvirt's disk names are. */
      target: z
        .string()
        .regex(/^[a-z][a-z0-9]{0,31}$/, 'a target is lower-case letters and digits, such as vda or sdb')
        .optional(),
      bus: z.enum(['virtio', 'scsi', 'sata', 'ide', 'usb', 'fdc', 'xen', 'sd']).optional(),
      readonly: z.boolean().optional(),
    }),
    res: z.object({ text: z.string() }),
  },
  /** What stops the VM's user from opening each file of an open disk, and the fix as a plan to apply. */
  access: {
    req: z
      .strictObject({ top: PathSchema, profile: AccessInputSchema.optional(), domain: IdSchema.optional() })
      .refine(oneProfile, 'give either a user and group or an open domain'),
    res: z.custom<AccessRes>(),
  },
  /**
   * Explain pasted denial records (qemu's and libvirt's messages, SELinux AVC, AppArmor DENIED):
   * each file, the chain top using it, who was refused, which layer refused, and the verdict now.
   */
  explain: {
    req: z.strictObject({ text: z.string().min(1, 'paste a denial first').max(MAX_EXPLAIN, 'paste at most 1 MiB of log') }),
    res: z.custom<{ denials: Denial[]; skippedLines: number }>(),
  },
  /** Apply a plan this process made, by id: exactly what the preview showed. */
  apply: { req: z.strictObject({ planId: IdSchema }), res: z.custom<ApplyResult>() },
  /** Stop applying a plan: every file it changed is put back; false when it is not being applied. */
  cancelApply: { req: z.strictObject({ planId: IdSchema }), res: z.custom<{ cancelled: boolean }>() },
  /** Revert a change (the last one when no id). */
  undo: { req: z.strictObject({ journalId: IdSchema.optional() }), res: z.custom<ApplyResult>() },
  /**
   * Count these folders as opened, so plans may change files there: each is checked with the
   * consent rules first (system folders never pass). Answers the folders now allowed, and why not the others.
   */
  allowFolders: {
    req: z.strictObject({ folders: z.array(PathSchema).min(1, 'no folder to allow').max(64, 'at most 64 folders at once') }),
    res: z.custom<{ allowed: string[]; refused: Array<{ path: string; message: string }> }>(),
  },
  /** The journal's changes (relabels, restores, access fixes, undos), oldest first, across sessions. */
  history: { req: z.strictObject({}), res: z.custom<{ entries: JournalSummary[] }>() },
  /** Recently opened paths, newest first. */
  recent: { req: z.strictObject({}), res: PathsResult },
  /** A native open dialog (Electron only). */
  dialog: { req: z.strictObject({ kind: z.enum(['image', 'folder']) }), res: PathsResult },
  /**
   * Remote hosts (kept across sessions) and where each stands. Requests for a host's files go to
   * its agent: `scan`/`cancelScan`/`closeForest` with `host`, `plan`/`access`/`export` with a
   * `host:path` top, `apply` of a plan a host made.
   */
  hostsList: { req: z.strictObject({}), res: z.custom<{ hosts: HostStatus[] }>() },
  /** Add a host by ssh://[user@]host[:port] (or qemu+ssh://…/system) and connect to it. */
  hostAdd: {
    req: z.strictObject({ spec: z.string().min(1, 'type a host').max(512, 'a host URL is at most 512 characters') }),
    res: z.custom<HostStatus>(),
  },
  hostRemove: { req: z.strictObject({ host: HostIdSchema }), res: z.object({ removed: z.boolean() }) },
  /** Trust the host key whose fingerprints were shown (unknown-host-key only), then connect. */
  hostTrustKey: {
    req: z.strictObject({ host: HostIdSchema, fingerprints: z.array(z.string().max(512)).min(1).max(16) }),
    res: z.custom<HostStatus>(),
  },
  /** Connect (or try again); answers once the handshake ends either way. */
  hostConnect: { req: z.strictObject({ host: HostIdSchema }), res: z.custom<HostStatus>() },
  /** The user's answer to a `host-prompt` (null: Cancel); `answered` is false when it no longer waits. */
  hostPromptAnswer: {
    req: z.strictObject({ promptId: z.string().min(1).max(64), answer: z.string().max(4096).nullable() }),
    res: z.object({ answered: z.boolean() }),
  },
} as const;

export type Channel = keyof typeof channels;
export const CHANNELS = Object.keys(channels) as Channel[];
export type Req<C extends Channel> = z.input<(typeof channels)[C]['req']>;
export type ParsedReq<C extends Channel> = z.output<(typeof channels)[C]['req']>;
export type Res<C extends Channel> = z.output<(typeof channels)[C]['res']>;

// ---------------------------------------------------------------------------------------------
// Events: owner → renderer

/** Who asks in a `host-prompt`: ssh for a key's passphrase or a password, the host's sudo, or other. */
export const HOST_PROMPT_KINDS = ['passphrase', 'password', 'sudo', 'other'] as const;
export type HostPromptKind = (typeof HOST_PROMPT_KINDS)[number];

export const COMMANDS = [
  'open-image',
  'open-folder',
  'reload',
  'relabel',
  'restore',
  'undo',
  'toggle-theme',
  'focus-open',
  'open-domain',
] as const;
export type Command = (typeof COMMANDS)[number];

export const events = {
  /** Open these paths (menu, recent files, command line, second instance). */
  'open-paths': z.object({ paths: z.array(z.string()) }),
  /** A plan being applied: `done` of `total` files; while the helper changes them, the file just done and files per second. */
  progress: z.object({
    host: z.string().optional(),
    planId: z.string(),
    done: z.number(),
    total: z.number(),
    path: z.string().optional(),
    rate: z.number().optional(),
  }),
  /** A menu command the renderer carries out. */
  command: z.object({ name: z.enum(COMMANDS) }),
  /** Something the user should know that happened in the background (a failed forest update). */
  notice: z.object({ text: z.string().max(4096) }),
  /** A scan running: `done` of `total` files read. */
  'scan-progress': z.object({ id: z.string(), done: z.number(), total: z.number(), host: z.string().optional() }),
  /**
   * A running scan's files so far, in batches (each batch whole trees where it can): the
   * renderer draws them before the scan's answer, which then holds every file as the truth.
   */
  'forest-batch': z.custom<{ id: string; files: ScannedFile[]; done: number; total: number; host?: string }>((d) => {
    const x = d as { id?: unknown; files?: unknown } | null;
    return !!x && typeof x.id === 'string' && Array.isArray(x.files);
  }),
  /** Files of the scanned forest changed on disk: the changed records only. */
  'forest-delta': z.custom<ForestDelta & { host?: string }>((d) => {
    const x = d as Partial<ForestDelta> | null;
    return !!x && typeof x.id === 'string' && Array.isArray(x.upsert) && Array.isArray(x.remove) && Array.isArray(x.reread);
  }),
  /** A remote host's state changed (events from a host carry `host`; its paths are its own). */
  'host-state': z.custom<HostStatus>((d) => !!d && typeof (d as { id?: unknown }).id === 'string'),
  /** A remote host's scanned forest, whole (after a scan there, and after a reconnect reopened it). */
  'host-forest': z.custom<{ host: string; forest: ForestSnapshot }>((d) => {
    const x = d as { host?: unknown; forest?: unknown } | null;
    return !!x && typeof x.host === 'string' && !!x.forest;
  }),
  /**
   * A host's ssh (a key's passphrase, a password) or its sudo asks the user: one at a time, answered
   * with `hostPromptAnswer`. `text` is the asker's own words, escaped (it comes from the host).
   */
  'host-prompt': z.object({
    promptId: z.string(),
    host: z.string(),
    kind: z.enum(HOST_PROMPT_KINDS),
    text: z.string(),
  }),
  /** The prompt no longer waits (answered, cancelled, timed out or its host went away): close it. */
  'host-prompt-closed': z.object({ promptId: z.string() }),
} as const;

export type EventName = keyof typeof events;
export const EVENTS = Object.keys(events) as EventName[];
export type EventData<E extends EventName> = z.output<(typeof events)[E]>;

// ---------------------------------------------------------------------------------------------
// Envelopes and the API object both transports expose

/** What every handler returns: errors travel as plain words, never as stack traces. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** The one object the renderer talks through (`window.diskchain` under Electron). */
export interface DiskchainApi {
  invoke<C extends Channel>(channel: C, req: Req<C>): Promise<Res<C>>;
  on<E extends EventName>(event: E, listener: (data: EventData<E>) => void): () => void;
  /** The real path of a dropped file (a DOM File; Electron only; null elsewhere). */
  pathForFile(file: object): string | null;
}

/** The WebSocket framing `diskchain serve` uses. */
export const ClientMessageSchema = z.strictObject({
  id: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  channel: z.string().max(64),
  payload: z.unknown(),
});
export type ClientMessage = z.infer<typeof ClientMessageSchema>;
export type ServerMessage = ({ type: 'result'; id: number } & Result<unknown>) | { type: 'event'; event: EventName; data: unknown };

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name);
}

export function isEvent(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

/** One line of plain words for a failed validation. */
export function describeIssues(error: Pick<z.ZodError, 'issues'>): string {
  const first = error.issues[0];
  if (!first) return 'invalid request';
  const where = first.path.length ? ` (at ${first.path.join('.')})` : '';
  return `${first.message}${where}`;
}

export class ContractError extends Error {}

/** Validate a request on arrival: unknown channels and malformed payloads are refused. */
export function parseRequest<C extends Channel>(channel: C, payload: unknown): ParsedReq<C>;
export function parseRequest(channel: unknown, payload: unknown): unknown;
export function parseRequest(channel: unknown, payload: unknown): unknown {
  if (!isChannel(channel)) throw new ContractError(`unknown request '${String(channel).slice(0, 64)}'`);
  const r = channels[channel].req.safeParse(payload);
  if (!r.success) throw new ContractError(`refused ${channel} request: ${describeIssues(r.error)}`);
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// Forest ids across hosts: a local file is its absolute path, a remote one `host:path`

/** The id of `path` on remote `host`. */
export function remoteId(host: string, path: string): string {
  return `${host}:${path}`;
}

/**
 * A `host:path` id split in two; null for a local path. A host id holds no '/', so the first
 * ":/" ends it (an IPv6 host is bracketed: `[::1]:22:/path`).
 */
export function splitRemoteId(id: string): { host: string; path: string } | null {
  if (id.startsWith('/')) return null;
  const at = id.indexOf(':/');
  if (at <= 0) return null;
  const host = id.slice(0, at);
  return host.length <= 600 && HOST_ID.test(host) ? { host, path: id.slice(at + 1) } : null;
}
