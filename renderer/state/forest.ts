// The forest's state (zustand): the scanned files, the model and layout derived from them, the
// filter, the selection's highlight, a running scan's progress, and the watcher's deltas.
// Components read it through selectors; calls out go through api.ts. Reports to notices only.
import { create } from 'zustand';
import { splitRemoteId, type EventData } from '../../shared/ipc.js';
import type { ForestSnapshot, ScannedFile, ScanSummary } from '../../shared/scan.js';
import { getApi } from '../api.js';
import { ForestIndex } from '../forest/incremental.js';
import { PackedBoxes, cachedLayout, layoutForest, type ForestLayout, type Rect, type TreeLayout } from '../forest/layout.js';
import { NO_FILTER, applyFilter, filterActive, usersOf, type Forest, type ForestFilter, type ForestTree } from '../forest/model.js';
import { DRAW_EVERY_MS, inFrame } from './frames.js';
import { errorText, notify } from './notices.js';

export type View = 'chain' | 'forest';

export interface ScanProgress {
  /** Known once the first progress event names it. */
  id: string | null;
  paths: string[];
  done: number;
  total: number;
}

export interface ForestState {
  view: View;
  id: string | null;
  roots: string[];
  files: Map<string, ScannedFile>;
  summary: ScanSummary | null;
  /** Header reads since the scan began (the server's count): updates add only what changed. */
  reads: number;
  /** The files the last update read again. */
  lastReread: string[];
  updates: number;
  scanMs: number;
  scanning: ScanProgress | null;
  filter: ForestFilter;
  expanded: Set<string>;
  selected: string | null;
  forest: Forest;
  /** The trees the filter keeps, the files in them, and the files that match it. */
  shown: ForestTree[];
  shownFiles: number;
  matches: Set<string>;
  /** The problem codes the files have (the filter's choices). */
  codes: string[];
  layout: ForestLayout;
  boxes: ReadonlyMap<string, Rect>;
  /** What the selection lights up: the images using it, and its own chain. */
  users: Set<string>;
  chain: Set<string>;
  /** Closing: the canvas is taken down first, the forest dropped in a task of its own after. */
  closing: boolean;
}

const EMPTY_FOREST = new ForestIndex().forest();

export const useForest = create<ForestState>()(() => ({
  view: 'chain',
  id: null,
  roots: [],
  files: new Map(),
  summary: null,
  reads: 0,
  lastReread: [],
  updates: 0,
  scanMs: 0,
  scanning: null,
  filter: NO_FILTER,
  expanded: new Set(),
  selected: null,
  forest: EMPTY_FOREST,
  shown: [],
  shownFiles: 0,
  matches: new Set(),
  codes: [],
  layout: layoutForest([]),
  boxes: new Map(),
  users: new Set(),
  chain: new Set(),
  closing: false,
}));

const set = useForest.setState;
const get = useForest.getState;

/**
 * Remote hosts' files (ids `host:path`, by host): kept beside the local forest's in `files`, so
 * the model, the filter and the layout see every host at once. renderer/state/hosts.ts sets them.
 */
const remote = new Map<string, Map<string, ScannedFile>>();

/** The forest's id while only remote hosts have files in it (no local scan). */
export const HOSTS_FOREST = 'hosts';

/** Local files with every host's files added. */
function withRemote(local: Map<string, ScannedFile>): Map<string, ScannedFile> {
  for (const files of remote.values()) for (const [k, v] of files) local.set(k, v);
  return local;
}

/** Tree layouts by tree id, reused while a tree's signature stays the same. */
const layoutCache = new Map<string, TreeLayout>();

/** The selected file's chain: itself, its backing files down to the base, their data files. */
function chainOf(files: ReadonlyMap<string, ScannedFile>, p: string): Set<string> {
  const out = new Set<string>();
  for (let cur = files.get(p); cur && !out.has(cur.path); cur = cur.backing ? files.get(cur.backing) : undefined) {
    out.add(cur.path);
    if (cur.dataFile && files.has(cur.dataFile)) out.add(cur.dataFile);
  }
  return out;
}

function highlight(forest: Forest, selected: string | null): Pick<ForestState, 'users' | 'chain'> {
  if (!selected || !forest.files.has(selected)) return { users: new Set(), chain: new Set() };
  return { users: usersOf(forest, selected), chain: chainOf(forest.files, selected) };
}

/**
 * The forest being shown, kept up to date tree by tree (forest/incremental.ts). Its `files` is the
 * state's `files`: updated in place, so the state's `forest` (a new object each time) is what
 * tells components it changed. A new forest (scan, close, a filter, a fan) gets a new index.
 */
let index = new ForestIndex();

/** Filter, layout and highlight of the index's forest: what every change ends with. */
function present(filter: ForestFilter, selected: string | null, prev?: ForestLayout, same = false): Partial<ForestState> {
  let forest = index.forest();
  let { trees, matches } = applyFilter(forest, filter);
  // Matches inside a collapsed fan are pulled out of it.
  if (filterActive(filter) && matches.size) {
    const files = index.files;
    index = new ForestIndex(index.expanded, matches);
    index.update(files.values());
    forest = index.forest();
    ({ trees, matches } = applyFilter(forest, filter));
  }
  const layout = layoutForest(trees, layoutCache, undefined, prev);
  const files = index.files;
  const sel = selected && files.has(selected) ? selected : null;
  const boxes = new PackedBoxes(layout, forest.treeOf);
  const shownFiles = filterActive(filter) ? trees.reduce((n, t) => n + t.paths.length, 0) : index.shownFiles;
  const lit = highlight(forest, sel);
  const s = get();
  // `same`: sets equal to the state's stay the same objects. Every card on screen is drawn again
  // when one of them changes, and a streaming forest is drawn every few frames. (A new filter or
  // fan gets new ones: the view frames a filter's result when its matches are new.)
  const keep = <T>(was: Set<T>, now: Set<T>) => (same ? sameSet(was, now) : now);
  return {
    files,
    forest,
    shown: trees,
    shownFiles,
    matches: keep(s.matches, matches),
    codes: sameList(s.codes, index.codes()),
    layout,
    boxes,
    selected: sel,
    users: keep(s.users, lit.users),
    chain: keep(s.chain, lit.chain),
  };
}

function sameSet<T>(was: Set<T>, now: Set<T>): Set<T> {
  if (was.size !== now.size) return now;
  for (const x of now) if (!was.has(x)) return now;
  return was;
}

function sameList<T>(was: T[], now: T[]): T[] {
  return was.length === now.length && now.every((x, i) => x === was[i]) ? was : now;
}

/** Model, filter, layout and highlight from the files, all of them: a new forest. */
function derive(
  files: Map<string, ScannedFile>,
  filter: ForestFilter,
  expanded: Set<string>,
  selected: string | null,
): Partial<ForestState> {
  cancelPending();
  index = new ForestIndex(expanded);
  index.update(files.values());
  return present(filter, selected);
}

/**
 * Changes waiting for animation frames: batches, hosts' files and deltas are put in the forest a
 * slice a frame (SLICE_MS of it), and the forest is drawn again at most every DRAW_EVERY_MS, in a
 * frame of its own: eight hosts streaming 11,000 files each then leave the window its frames.
 * What must be whole now (a scan's answer, a delta) applies everything at once (flushForest).
 */
const pending = {
  upsert: new Map<string, ScannedFile>(),
  remove: new Set<string>(),
  frame: null as null | (() => void),
  /** The frame waits for the next drawing (nothing was left to put in). */
  waiting: false,
};

/**
 * Main-thread time a frame gives to putting pending files in the forest: SLICE_MS, and more
 * when many wait (a local scan's batches come faster than hosts' do, and the whole forest should
 * not lag the scan by seconds): BACKLOG_MS per thousand files waiting past BACKLOG_FILES.
 */
const SLICE_MS = 2;
const BACKLOG_FILES = 4000;
const BACKLOG_MS = 2;
const SLICE_MAX_MS = 50;
/** Files put in between two looks at the clock (a batch's trees come together, so few are cut). */
const SLICE_FILES = 32;
/** The index holds files not drawn yet; when the forest was drawn last. */
const drawn = { stale: false, at: 0 };

/** The forest's files with what is still pending put in: a new forest of the same files. */
function withPending(files: Map<string, ScannedFile>): Map<string, ScannedFile> {
  for (const p of pending.remove) files.delete(p);
  for (const [p, f] of pending.upsert) files.set(p, f);
  return files;
}

function cancelPending(): void {
  pending.frame?.();
  pending.frame = null;
  pending.waiting = false;
  pending.upsert.clear();
  pending.remove.clear();
  drawn.stale = false;
}

/** Filter, layout and highlight of the index as it stands, drawn over the trees drawn already. */
function draw(extra: Partial<ForestState> = {}): void {
  drawn.stale = false;
  drawn.at = performance.now();
  const s = get();
  // The trees drawn already stay where they are.
  set({ ...extra, ...present(s.filter, s.selected, s.layout, true) });
}

/** Apply what is pending now (the next frame would). */
export function flushForest(extra: Partial<ForestState> = {}): void {
  pending.frame?.();
  pending.frame = null;
  pending.waiting = false;
  const upsert = [...pending.upsert.values()];
  const remove = [...pending.remove];
  pending.upsert.clear();
  pending.remove.clear();
  if (upsert.length || remove.length) index.update(upsert, remove);
  draw(extra);
}

/**
 * The next files to put in: SLICE_FILES, and on while the next one links to those (a batch
 * brings each tree's files together, so a drawing between two chunks shows whole trees).
 */
function takeChunk(): ScannedFile[] {
  const chunk: ScannedFile[] = [];
  const named = new Set<string>();
  for (const [p, f] of pending.upsert) {
    const linked = named.has(p) || (f.backing !== null && named.has(f.backing)) || (f.dataFile !== null && named.has(f.dataFile));
    if (chunk.length >= SLICE_FILES && (!linked || chunk.length >= 4 * SLICE_FILES)) break;
    chunk.push(f);
    pending.upsert.delete(p);
    named.add(p);
    if (f.backing) named.add(f.backing);
    if (f.dataFile) named.add(f.dataFile);
  }
  return chunk;
}

/** A frame's share of what is pending: a slice put in (its new trees laid out), or a drawing. */
function flushSlice(): void {
  pending.frame = null;
  const t0 = performance.now();
  const due = t0 - drawn.at >= DRAW_EVERY_MS;
  if (!drawn.stale || !due) {
    if (pending.remove.size) {
      index.update([], [...pending.remove]);
      pending.remove.clear();
      drawn.stale = true;
    }
    const waiting = pending.upsert.size - BACKLOG_FILES;
    const budget = waiting > 0 ? Math.min(SLICE_MAX_MS, SLICE_MS + (waiting / 1000) * BACKLOG_MS) : SLICE_MS;
    while (pending.upsert.size && performance.now() - t0 < budget) {
      const chunk = takeChunk();
      index.update(chunk);
      for (const t of index.built) cachedLayout(t, layoutCache);
      drawn.stale = true;
    }
  }
  if (drawn.stale && due) draw();
  pending.waiting = !pending.upsert.size && !pending.remove.size;
  if (!pending.waiting) pending.frame = inFrame(flushSlice);
  else if (drawn.stale) pending.frame = inFrame(flushSlice, drawn.at + DRAW_EVERY_MS - t0);
}

function patch(upsert: Iterable<ScannedFile>, remove: Iterable<string>): void {
  for (const p of remove) {
    pending.upsert.delete(p);
    pending.remove.add(p);
  }
  for (const f of upsert) {
    pending.remove.delete(f.path);
    pending.upsert.set(f.path, f);
  }
  // A frame waiting for the next drawing would leave these waiting too: put them in at once.
  if (pending.frame && pending.waiting) pending.frame();
  if (!pending.frame || pending.waiting) pending.frame = inFrame(flushSlice);
  pending.waiting = false;
}

/** The records of `next` that differ from `have`'s, and the paths of `have` not in `next`. */
function differences(
  have: ReadonlyMap<string, ScannedFile>,
  next: readonly ScannedFile[],
  owned: (p: string) => boolean,
): { upsert: ScannedFile[]; remove: string[] } {
  const keep = new Set<string>();
  const upsert: ScannedFile[] = [];
  for (const f of next) {
    keep.add(f.path);
    const h = have.get(f.path);
    if (!h || JSON.stringify(h) !== JSON.stringify(f)) upsert.push(f);
  }
  const remove: string[] = [];
  for (const p of have.keys()) if (owned(p) && !keep.has(p)) remove.push(p);
  return { upsert, remove };
}

const isLocal = (p: string) => splitRemoteId(p) === null;

/**
 * A scan's answer into the forest. `removed` (the answer was `sinceBatches`): `f.files` are only
 * what differs from the batches, which must have been drawn; false when they were not.
 */
function setSnapshot(f: ForestSnapshot, removed?: string[]): boolean {
  const meta = {
    id: f.id,
    roots: f.roots,
    summary: f.summary,
    reads: f.reads,
    lastReread: [],
    updates: 0,
    scanMs: f.ms,
    view: 'forest' as const,
  };
  // The batches drew this scan already: the answer adds only what differs from what they sent.
  if (streamed.id === f.id && get().id === f.id) {
    streamed.id = null;
    flushForest();
    const d = removed ? { upsert: f.files, remove: removed } : differences(index.files, f.files, isLocal);
    patch(d.upsert, d.remove);
    flushForest(meta);
    return true;
  }
  if (removed) return false;
  const files = withRemote(new Map(f.files.map((x) => [x.path, x])));
  // Another scan's trees do not keep their layouts.
  layoutCache.clear();
  streamed.id = null;
  const s = get();
  set({ ...meta, ...derive(files, s.filter, s.expanded, s.selected) });
  return true;
}

/** Scan folders into the forest (with those scanned already), with progress and Cancel. */
export async function scanFolders(paths: string[]): Promise<void> {
  // What the batches draw over: put back if the scan ends without a forest (cancelled, failed).
  const before = get();
  const beforeFiles = new Map(before.files);
  set({ scanning: { id: null, paths, done: 0, total: 0 } });
  const api = getApi();
  const off = api.on('forest-batch', onForestBatch);
  let done = false;
  try {
    const closesBefore = closes;
    const r = await api.invoke('scan', { paths, drawn: true });
    // Closed while it ran: the user is done with this forest, and its answer must not reopen it.
    if (closes !== closesBefore) {
      done = true;
    } else if (r.status === 'done') {
      done = true;
      // Batches not drawn here (another scan's took over): only a whole answer can be shown.
      if (!setSnapshot(r.forest, r.sinceBatches?.sent ? r.sinceBatches.removed : undefined)) {
        const whole = await api.invoke('scan', { paths });
        if (whole.status === 'done' && closes === closesBefore) setSnapshot(whole.forest);
      }
    } else notify('info', `Scan cancelled after ${r.done} of ${r.total} files; nothing was changed.`);
  } catch (e) {
    notify('error', errorText(e));
  } finally {
    off();
    const drew = streamed.id !== null && get().id === streamed.id;
    streamed.id = null;
    if (!done && drew) {
      layoutCache.clear();
      const { id, roots, summary, reads, lastReread, updates, scanMs, view } = before;
      // The hosts' files as they are now, the local ones as they were.
      for (const p of [...beforeFiles.keys()]) if (!isLocal(p)) beforeFiles.delete(p);
      const files = withRemote(beforeFiles);
      set({ id, roots, summary, reads, lastReread, updates, scanMs, view, ...derive(files, before.filter, before.expanded, null) });
    }
    set({ scanning: null });
  }
}

export async function cancelScan(): Promise<void> {
  const id = get().scanning?.id;
  if (!id) return;
  try {
    await getApi().invoke('cancelScan', { id });
  } catch (e) {
    notify('error', errorText(e));
  }
}

/** The running scan whose batches are drawn (the first batch starts its forest). */
const streamed = { id: null as string | null };

export function onForestBatch(d: EventData<'forest-batch'>): void {
  // A host's batches are the host's (renderer/state/hosts.ts).
  if (d.host) return;
  const s = get().scanning;
  if (!s || (s.id !== null && s.id !== d.id)) return;
  set({ scanning: { ...s, id: d.id, done: d.done, total: d.total } });
  // The batches start a new forest: the scanned folders are the user's view from the first one.
  if (streamed.id !== d.id) {
    streamed.id = d.id;
    layoutCache.clear();
    const now = get();
    set({
      id: d.id,
      view: 'forest',
      ...derive(withRemote(new Map(d.files.map((f) => [f.path, f]))), now.filter, now.expanded, now.selected),
    });
    return;
  }
  patch(d.files, []);
}

export function onScanProgress(d: EventData<'scan-progress'>): void {
  if (d.host) return;
  const s = get().scanning;
  if (s && (s.id === null || s.id === d.id)) set({ scanning: { ...s, id: d.id, done: d.done, total: d.total } });
}

/**
 * The watcher's delta: patch the files, lay out again only the trees that changed. One that
 * cannot be applied leaves the forest as it was and says so: the view no longer matches the
 * disk, and the user should know to scan again.
 */
export function applyDelta(d: EventData<'forest-delta'>): void {
  const s = get();
  if (d.host || d.id !== s.id) return;
  try {
    patch(d.upsert, d.remove);
    flushForest({ summary: d.summary, reads: d.totalReads, lastReread: d.reread, updates: s.updates + 1 });
  } catch (e) {
    notify('error', `the forest could not be updated (${errorText(e)}); scan the folder again to see its files as they are`);
  }
}

/** Typing in a filter box waits this long before the forest is filtered again (~80 ms at 11,000 files). */
const FILTER_QUIET_MS = 150;
let filterTimer: ReturnType<typeof setTimeout> | null = null;

function refilter(): void {
  filterTimer = null;
  const s = get();
  set(derive(withPending(s.files), s.filter, s.expanded, s.selected));
}

/** The boxes show what is typed at once; the forest follows when typing pauses (a choice applies now). */
export function setFilter(patch: Partial<ForestFilter>): void {
  set({ filter: { ...get().filter, ...patch } });
  if (filterTimer) clearTimeout(filterTimer);
  const typed = patch.name !== undefined || patch.owner !== undefined || patch.context !== undefined;
  if (typed) filterTimer = setTimeout(refilter, FILTER_QUIET_MS);
  else refilter();
}

/** Show every user of `parent` (a "+k more" node was clicked), or collapse them again. */
export function toggleExpand(parent: string): void {
  const s = get();
  const expanded = new Set(s.expanded);
  if (expanded.has(parent)) expanded.delete(parent);
  else expanded.add(parent);
  set({ expanded, ...derive(withPending(s.files), s.filter, expanded, s.selected) });
}

export function selectForest(id: string | null): void {
  const s = get();
  const sel = id && s.files.has(id) ? id : null;
  set({ selected: sel, ...highlight(s.forest, sel) });
}

export function setView(view: View): void {
  set({ view });
}

/** The disk a relabel from the forest applies to: the selection if it is a top, else its first user that is. */
export function forestTop(): string | null {
  const s = get();
  if (!s.selected) return null;
  const n = s.forest.byId.get(s.selected);
  if (n?.top) return n.id;
  const tops = [...s.users]
    .filter((p) => s.forest.byId.get(p)?.top || (s.files.get(p)?.usedBy.length === 0 && s.files.get(p)?.isImage))
    .sort();
  return tops[0] ?? null;
}

/** Forests closed so far: a scan's answer that arrives after a close is the closed forest's. */
let closes = 0;

export async function closeForest(): Promise<void> {
  closes++;
  // Two tasks, each short: React Flow's cards unsubscribe from its store before the chain view
  // mounts on that same store (in one task, each of its updates ran every card's selector).
  set({ closing: true });
  await new Promise((resolve) => setTimeout(resolve, 0));
  layoutCache.clear();
  // The hosts' files stay: they close with their host.
  const files = withRemote(new Map());
  set({
    closing: false,
    id: files.size ? HOSTS_FOREST : null,
    roots: [],
    files,
    summary: null,
    selected: null,
    view: files.size ? 'forest' : 'chain',
    ...derive(files, get().filter, new Set(), null),
  });
  try {
    await getApi().invoke('closeForest', {});
  } catch (e) {
    notify('error', errorText(e));
  }
}

/**
 * A host's files changed: `upsert` and `remove` are ids (`host:path`). Drawn with whatever else
 * arrives before the next frame, re-deriving only the trees they touch.
 */
export function patchHostFiles(host: string, upsert: readonly ScannedFile[], remove: readonly string[]): void {
  let mine = remote.get(host);
  if (!mine) remote.set(host, (mine = new Map()));
  for (const p of remove) mine.delete(p);
  for (const f of upsert) mine.set(f.path, f);
  if (!mine.size) remote.delete(host);
  const s = get();
  if (s.id === null && (upsert.length || remove.length)) set({ id: HOSTS_FOREST, view: 'forest' });
  patch(upsert, remove);
}

/** Take a host's files out of the forest, or put its whole forest in (only what differs is drawn again). */
export function setHostFiles(host: string, files: ReadonlyMap<string, ScannedFile> | null): void {
  const have = remote.get(host) ?? new Map<string, ScannedFile>();
  const d = differences(have, files ? [...files.values()] : [], () => true);
  patchHostFiles(host, d.upsert, d.remove);
}
