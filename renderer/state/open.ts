// What is opened: the paths being read right now and the recent ones, and the actions that open
// paths (disks into the graph, folders scanned into the forest). Above disks and forest.
import { create } from 'zustand';
import type { Disk, OpenResult } from '../../shared/ipc.js';
import { getApi } from '../api.js';
import { setDisks, select, useDisks, selectDisk } from './disks.js';
import { scanFolders, setView } from './forest.js';
import { errorText, notify } from './notices.js';

export interface OpenState {
  /** Paths being opened right now. */
  loading: string[];
  recent: string[];
}

export const useOpen = create<OpenState>()(() => ({ loading: [], recent: [] }));

const set = useOpen.setState;
const disks = () => useDisks.getState().disks;

function mergeDisks(old: Disk[], fresh: Disk[]): Disk[] {
  const out = [...old];
  for (const d of fresh) {
    const i = out.findIndex((x) => x.top === d.top);
    if (i >= 0) out[i] = { ...d, openedAs: out[i]!.openedAs };
    else out.push(d);
  }
  return out;
}

/** The contract takes 64 paths per request: ask in batches. */
async function openInBatches(paths: string[], reload: boolean | undefined): Promise<OpenResult & { folders: string[] }> {
  const out: OpenResult & { folders: string[] } = { disks: [], errors: [], folders: [] };
  for (let i = 0; i < paths.length; i += 64) {
    // Folders come back unopened: they are scanned into the forest.
    const r = await getApi().invoke('open', { paths: paths.slice(i, i + 64), reload, scanFolders: true });
    out.disks.push(...r.disks);
    out.errors.push(...r.errors);
    out.folders.push(...(r.folders ?? []));
  }
  return out;
}

export async function openPaths(paths: string[], opts: { reload?: boolean; quiet?: boolean } = {}): Promise<void> {
  const list = paths.map((p) => p.trim()).filter(Boolean);
  if (!list.length) return;
  set((s) => ({ loading: [...s.loading, ...list] }));
  try {
    const r = await openInBatches(list, opts.reload);
    for (const e of r.errors) notify('error', e.message);
    if (r.disks.length) {
      const before = new Set(disks().map((d) => d.top));
      setDisks(mergeDisks(disks(), r.disks));
      const added = r.disks.find((d) => !before.has(d.top));
      // Reopened at start: the view stays as the scan of any folder among them sets it.
      if (added && !opts.quiet) (opts.reload ? select : showChain)(added.top);
    }
    for (let i = 0; i < r.folders.length; i += 64) await scanFolders(r.folders.slice(i, i + 64));
    if (!opts.reload) void refreshRecent();
  } catch (e) {
    notify('error', errorText(e));
  } finally {
    set((s) => {
      const loading = [...s.loading];
      for (const p of list) loading.splice(loading.indexOf(p), 1);
      return { loading };
    });
  }
}

/** Read every open disk again from disk (after a change). */
export async function reloadAll(): Promise<void> {
  const tops = disks().map((d) => d.top);
  if (!tops.length) return;
  set((s) => ({ loading: [...s.loading, ...tops] }));
  try {
    const r = await openInBatches(tops, true);
    for (const e of r.errors) notify('error', e.message);
    const fresh = new Map(r.disks.map((d) => [d.top, d]));
    setDisks(disks().map((d) => (fresh.has(d.top) ? { ...fresh.get(d.top)!, openedAs: d.openedAs } : d)));
  } catch (e) {
    notify('error', errorText(e));
  } finally {
    set((s) => ({ loading: s.loading.filter((p) => !tops.includes(p)) }));
  }
}

/** The chain view with `top` selected: an image just opened is shown, whichever tab was active. */
function showChain(top: string): void {
  setView('chain');
  // Selected as a disk, so it is framed on its own even when it is another disk's backing file too.
  selectDisk(top);
}

/** A top's chain graph, in the chain view (double-click in the forest, a domain's disk, an explained denial). */
export async function openChain(top: string): Promise<void> {
  setView('chain');
  await openPaths([top], { quiet: false });
  if (disks().some((d) => d.top === top)) showChain(top);
}

export async function refreshRecent(): Promise<void> {
  try {
    const r = await getApi().invoke('recent', {});
    set({ recent: r.paths });
  } catch {
    // Recent files are a convenience.
  }
}

export async function openDialog(kind: 'image' | 'folder'): Promise<void> {
  try {
    const r = await getApi().invoke('dialog', { kind });
    if (r.paths.length) await openPaths(r.paths);
  } catch (e) {
    notify('error', errorText(e));
  }
}

/** Where a path is typed to be opened (the toolbar's box). */
export function focusOpenPath(): void {
  document.querySelector<HTMLInputElement>('[data-testid="open-path"]')?.focus();
}
