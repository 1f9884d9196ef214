// The remote hosts (zustand): each host's state as the owning process reports it, the "Add
// host…" dialog's steps, the hosts' forests (files put into the forest with ids `host:path`),
// and the "same file" hints between hosts. Calls out go through api.ts; reports to notices.
import { create } from 'zustand';
import { remoteId, splitRemoteId, type EventData, type HostStatus } from '../../shared/ipc.js';
import type { ForestSnapshot, ScannedFile } from '../../shared/scan.js';
import { getApi } from '../api.js';
import { patchHostFiles, setHostFiles } from './forest.js';
import { DRAW_EVERY_MS, inFrame } from './frames.js';
import { errorText, notify } from './notices.js';

export type AddStep =
  | { step: 'closed' }
  | { step: 'form'; busy: boolean; error: string | null }
  /** The host answered with a key ssh does not know: show its fingerprints, trust on yes. */
  | { step: 'trust'; host: HostStatus; busy: boolean; error: string | null };

export interface HostsState {
  hosts: HostStatus[];
  add: AddStep;
  /** Per host: files read so far by a running scan there. */
  scanning: Record<string, { done: number; total: number }>;
}

export const useHosts = create<HostsState>()(() => ({
  hosts: [],
  add: { step: 'closed' },
  scanning: {},
}));

const set = useHosts.setState;
const get = useHosts.getState;

/** Each host's files by id, as the forest shows them. */
const hostFiles = new Map<string, Map<string, ScannedFile>>();

/** A host's path as a forest id; names that are no path (nbd://…, a missing name) stay as they are. */
const tagPath = (host: string, p: string | null): string | null => (p && p.startsWith('/') ? remoteId(host, p) : p);

/** A host's file with every path in it made a `host:path` id. */
export function tagFile(host: string, f: ScannedFile): ScannedFile {
  return {
    ...f,
    path: remoteId(host, f.path),
    backing: tagPath(host, f.backing),
    dataFile: tagPath(host, f.dataFile),
    usedBy: f.usedBy.map((u) => remoteId(host, u)),
  };
}

/**
 * The "same file" key: a file on shared storage (NFS) seen from two hosts has the same path
 * (libvirt's shared pools are mounted at the same place on every host), the same size, and the
 * same header facts the scan read (format, virtual size, backing file). The scan reports no
 * device or inode (they differ across NFS clients anyway), so these are what we compare: a hint,
 * not a proof.
 */
export function sameFileKey(f: ScannedFile, path: string): string | null {
  if (f.size === null || !f.format) return null;
  const backing = f.backing ? (splitRemoteId(f.backing)?.path ?? f.backing) : null;
  return JSON.stringify([path, f.size, f.format, f.virtualSize, backing]);
}

/** The same file seen from the other hosts (by sameFileKey): ids, for the selected file's hint. */
export function sameFiles(id: string): string[] {
  const split = splitRemoteId(id);
  const f = split ? hostFiles.get(split.host)?.get(id) : undefined;
  const key = split && f ? sameFileKey(f, split.path) : null;
  if (!split || !key) return [];
  const out: string[] = [];
  for (const [host, files] of hostFiles) {
    if (host === split.host) continue;
    const other = files.get(remoteId(host, split.path));
    if (other && sameFileKey(other, split.path) === key) out.push(other.path);
  }
  return out;
}

/** A host's files replaced (or taken out): the forest draws only what differs (state/forest.ts). */
function putFiles(host: string, files: Map<string, ScannedFile> | null): void {
  if (files) hostFiles.set(host, files);
  else {
    hostFiles.delete(host);
    lastForest.delete(host);
  }
  setHostFiles(host, files);
}

/** Files added to or taken from a host's forest, kept here and patched into the forest. */
function patchFiles(host: string, upsert: ScannedFile[], remove: string[]): void {
  let files = hostFiles.get(host);
  if (!files) hostFiles.set(host, (files = new Map()));
  for (const p of remove) files.delete(p);
  for (const f of upsert) files.set(f.path, f);
  patchHostFiles(host, upsert, remove);
}

/** A host's whole forest (a scan's answer, or the hub's after a reconnect). */
export function onHostForest(d: EventData<'host-forest'>): void {
  if (!get().hosts.some((h) => h.id === d.host)) return;
  putForest(d.host, d.forest);
}

/** The forest each host's files came from last: a scan's answer arrives as an event and as the reply. */
const lastForest = new Map<string, string>();

function putForest(host: string, forest: ForestSnapshot): void {
  const key = `${forest.id} ${forest.reads} ${forest.ms} ${forest.files.length}`;
  if (lastForest.get(host) === key && hostFiles.has(host)) return;
  lastForest.set(host, key);
  putFiles(host, new Map(forest.files.map((f) => [remoteId(host, f.path), tagFile(host, f)])));
}

/** Whether the host's files are in the forest (or on their way). */
export function hasHostFiles(host: string): boolean {
  return hostFiles.has(host);
}

function upsert(h: HostStatus): void {
  const hosts = get().hosts;
  const i = hosts.findIndex((x) => x.id === h.id);
  set({ hosts: i < 0 ? [...hosts, h] : hosts.map((x, j) => (j === i ? h : x)) });
}

export function onHostState(h: EventData<'host-state'>): void {
  if (get().hosts.some((x) => x.id === h.id)) upsert(h);
}

/**
 * Scan progress from the hosts (every batch and progress event brings some), put in the state at
 * most every DRAW_EVERY_MS: each change draws the host rows again.
 */
const progress = { next: new Map<string, { done: number; total: number }>(), frame: null as null | (() => void), at: 0 };

function noteProgress(host: string, done: number, total: number): void {
  progress.next.set(host, { done, total });
  progress.frame ??= inFrame(showProgress, progress.at + DRAW_EVERY_MS - performance.now());
}

function showProgress(): void {
  progress.frame = null;
  progress.at = performance.now();
  const scanning = { ...get().scanning };
  // Only hosts still scanning: a scan that ended meanwhile took its row's progress away.
  for (const [host, p] of progress.next) if (host in scanning) scanning[host] = p;
  progress.next.clear();
  set({ scanning });
}

/** The ids a host scan started here has drawn from its batches: what it kept of the host's files. */
const batchSeen = new Map<string, Set<string>>();

/** A running scan's batches on a host: drawn as they come (the answer then adds what differs). */
export function onHostBatch(d: EventData<'forest-batch'>): void {
  if (!d.host || !get().hosts.some((h) => h.id === d.host)) return;
  const host = d.host;
  noteProgress(host, d.done, d.total);
  const files = d.files.map((f) => tagFile(host, f));
  const seen = batchSeen.get(host);
  if (seen) for (const f of files) seen.add(f.path);
  patchFiles(host, files, []);
}

export function onHostProgress(d: EventData<'scan-progress'>): void {
  if (d.host && d.host in get().scanning) noteProgress(d.host, d.done, d.total);
}

/** The host's watcher saw files change (a relabel there, say): patch its files. */
export function onHostDelta(d: EventData<'forest-delta'>): void {
  const host = d.host;
  if (!host || !hostFiles.has(host)) return;
  patchFiles(
    host,
    d.upsert.map((f) => tagFile(host, f)),
    d.remove.map((p) => remoteId(host, p)),
  );
}

/** The hosts kept from earlier sessions: listed, then connected (the hub runs 4 handshakes at once). */
export async function loadHosts(): Promise<void> {
  try {
    const { hosts } = await getApi().invoke('hostsList', {});
    set({ hosts });
    await Promise.all(hosts.map((h) => connectHost(h.id)));
  } catch (e) {
    notify('error', errorText(e));
  }
}

export async function connectHost(id: string): Promise<void> {
  try {
    const h = await getApi().invoke('hostConnect', { host: id });
    // The hub rescans the folders it keeps for the host on connect, and sends them as `host-forest`.
    upsert(h);
  } catch (e) {
    notify('error', errorText(e));
  }
}

export function showAddHost(open: boolean): void {
  set({ add: open ? { step: 'form', busy: false, error: null } : { step: 'closed' } });
}

/** Add the host; an unknown key leads to the trust step, any other failure stays on the form. */
export async function addHost(spec: string): Promise<void> {
  set({ add: { step: 'form', busy: true, error: null } });
  try {
    const h = await getApi().invoke('hostAdd', { spec });
    upsert(h);
    if (h.state === 'unknown-host-key') set({ add: { step: 'trust', host: h, busy: false, error: null } });
    else if (h.state === 'connected') set({ add: { step: 'closed' } });
    else set({ add: { step: 'form', busy: false, error: h.message ?? `${h.id}: ${h.state}` } });
  } catch (e) {
    set({ add: { step: 'form', busy: false, error: errorText(e) } });
  }
}

export async function trustHost(): Promise<void> {
  const add = get().add;
  if (add.step !== 'trust' || !add.host.fingerprints) return;
  set({ add: { ...add, busy: true, error: null } });
  try {
    const h = await getApi().invoke('hostTrustKey', { host: add.host.id, fingerprints: add.host.fingerprints });
    upsert(h);
    if (h.state === 'connected') set({ add: { step: 'closed' } });
    else set({ add: { ...add, busy: false, error: h.message ?? `${h.id}: ${h.state}` } });
  } catch (e) {
    set({ add: { ...add, busy: false, error: errorText(e) } });
  }
}

export async function removeHost(id: string): Promise<void> {
  try {
    await getApi().invoke('hostRemove', { host: id });
    set({ hosts: get().hosts.filter((h) => h.id !== id) });
    putFiles(id, null);
  } catch (e) {
    notify('error', errorText(e));
  }
}

/** Scan folders on a host: its forest joins the others. */
export async function scanOnHost(id: string, paths: string[]): Promise<void> {
  // Progress of a scan there that just ended is not this one's.
  progress.next.delete(id);
  set({ scanning: { ...get().scanning, [id]: { done: 0, total: 0 } } });
  try {
    const seen = new Set<string>();
    batchSeen.set(id, seen);
    const r = await getApi().invoke('scan', { paths, host: id, drawn: true });
    // The batches drew the host's files already (onHostBatch): the answer holds what differs, and
    // files of the host's forest that neither brought are gone from its folders.
    if (r.status === 'done' && r.sinceBatches?.sent) {
      const upsert = r.forest.files.map((f) => tagFile(id, f));
      const removed = new Set(r.sinceBatches.removed.map((p) => remoteId(id, p)));
      for (const f of upsert) seen.add(f.path);
      for (const p of hostFiles.get(id)?.keys() ?? []) if (!seen.has(p)) removed.add(p);
      patchFiles(id, upsert, [...removed]);
    } else if (r.status === 'done') putForest(id, r.forest);
    const h = get().hosts.find((x) => x.id === id);
    if (h && r.status === 'done') upsert({ ...h, folders: [...new Set([...h.folders, ...r.forest.roots])] });
  } catch (e) {
    notify('error', errorText(e));
  } finally {
    batchSeen.delete(id);
    const { [id]: _, ...rest } = get().scanning;
    set({ scanning: rest });
  }
}
