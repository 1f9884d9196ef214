// The forest's state (zustand): the scanned files, the model and layout derived from them, the
// filter, the selection's highlight, a running scan's progress, and the watcher's deltas.
// Components read it through selectors; calls out go through api.ts. Reports to notices only.
import { create } from 'zustand';
import type { EventData } from '../../shared/ipc.js';
import type { ForestSnapshot, ScannedFile, ScanSummary } from '../../shared/scan.js';
import { getApi } from '../api.js';
import { absoluteBoxes, layoutForest, type ForestLayout, type Rect, type TreeLayout } from '../forest/layout.js';
import {
  NO_FILTER,
  applyFilter,
  buildForest,
  filterActive,
  usersOf,
  type Forest,
  type ForestFilter,
  type ForestTree,
} from '../forest/model.js';
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
  /** The trees the filter keeps, and the files that match it. */
  shown: ForestTree[];
  matches: Set<string>;
  layout: ForestLayout;
  boxes: Map<string, Rect>;
  /** What the selection lights up: the images using it, and its own chain. */
  users: Set<string>;
  chain: Set<string>;
}

const EMPTY_FOREST = buildForest(new Map());

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
  matches: new Set(),
  layout: { packed: [], width: 0, height: 0, laidOut: 0 },
  boxes: new Map(),
  users: new Set(),
  chain: new Set(),
}));

const set = useForest.setState;
const get = useForest.getState;

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

/** Model, filter, layout and highlight from the files: what every change goes through. */
function derive(
  files: Map<string, ScannedFile>,
  filter: ForestFilter,
  expanded: Set<string>,
  selected: string | null,
): Partial<ForestState> {
  let forest = buildForest(files, expanded);
  let { trees, matches } = applyFilter(forest, filter);
  // Matches inside a collapsed fan are pulled out of it.
  if (filterActive(filter) && matches.size) {
    forest = buildForest(files, expanded, matches);
    ({ trees, matches } = applyFilter(forest, filter));
  }
  const layout = layoutForest(trees, layoutCache);
  const sel = selected && files.has(selected) ? selected : null;
  return { forest, shown: trees, matches, layout, boxes: absoluteBoxes(layout), selected: sel, ...highlight(forest, sel) };
}

function setSnapshot(f: ForestSnapshot): void {
  const files = new Map(f.files.map((x) => [x.path, x]));
  layoutCache.clear();
  const s = get();
  set({
    id: f.id,
    roots: f.roots,
    files,
    summary: f.summary,
    reads: f.reads,
    lastReread: [],
    updates: 0,
    scanMs: f.ms,
    view: 'forest',
    ...derive(files, s.filter, s.expanded, s.selected),
  });
}

/** Scan folders into the forest (with those scanned already), with progress and Cancel. */
export async function scanFolders(paths: string[]): Promise<void> {
  set({ scanning: { id: null, paths, done: 0, total: 0 } });
  try {
    const r = await getApi().invoke('scan', { paths });
    if (r.status === 'done') setSnapshot(r.forest);
    else notify('info', `Scan cancelled after ${r.done} of ${r.total} files; nothing was changed.`);
  } catch (e) {
    notify('error', errorText(e));
  } finally {
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

export function onScanProgress(d: EventData<'scan-progress'>): void {
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
  if (d.id !== s.id) return;
  try {
    const files = new Map(s.files);
    for (const p of d.remove) files.delete(p);
    for (const f of d.upsert) files.set(f.path, f);
    set({
      files,
      summary: d.summary,
      reads: d.totalReads,
      lastReread: d.reread,
      updates: s.updates + 1,
      ...derive(files, s.filter, s.expanded, s.selected),
    });
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
  set(derive(s.files, s.filter, s.expanded, s.selected));
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
  set({ expanded, ...derive(s.files, s.filter, expanded, s.selected) });
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

export async function closeForest(): Promise<void> {
  layoutCache.clear();
  set({
    id: null,
    roots: [],
    files: new Map(),
    summary: null,
    selected: null,
    view: 'chain',
    ...derive(new Map(), get().filter, new Set(), null),
  });
  try {
    await getApi().invoke('closeForest', {});
  } catch (e) {
    notify('error', errorText(e));
  }
}
