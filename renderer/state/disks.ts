// The open disks as a graph: the disks, the graph built from them, its laid-out boxes and the
// selected file. Reports to notices only.
import { create } from 'zustand';
import type { AccessRes, Disk } from '../../shared/ipc.js';
import type { Blocker } from '../../shared/access.js';
import { getApi } from '../api.js';
import {
  NODE_WIDTH,
  buildGraph,
  estimateHeight,
  layoutGraph,
  type Box,
  type ChainGraph,
  type ElkLike,
  type GraphNode,
} from '../graph/model.js';
import { useHost } from './host.js';
import { errorText, notify } from './notices.js';

/** The access check for the VM's default user, on the disk in view. */
export interface Verdict {
  top: string;
  status: 'pending' | 'ready' | 'error';
  res: AccessRes | null;
  error: string | null;
  /** Chain file → why the VM cannot open it (blocking findings only). */
  blocked: Map<string, string>;
}

export interface DisksState {
  disks: Disk[];
  graph: ChainGraph;
  boxes: Map<string, Box>;
  /** Bumped on every new graph, so a late layout never overwrites a newer one. */
  graphVersion: number;
  /** The graphVersion `boxes` were laid out for. */
  layoutVersion: number;
  layingOut: boolean;
  selected: string | null;
  /** The disk (top) the view frames: the selection's disk, or null for every disk. */
  framed: string | null;
  /** Bumped whenever the view should frame `framed` again. */
  frameSeq: number;
  verdict: Verdict | null;
}

export const useDisks = create<DisksState>()(() => ({
  disks: [],
  graph: buildGraph([]),
  boxes: new Map(),
  graphVersion: 0,
  layoutVersion: 0,
  layingOut: false,
  selected: null,
  framed: null,
  frameSeq: 0,
  verdict: null,
}));

const set = useDisks.setState;
const get = useDisks.getState;

let elk: ElkLike | null = null;
/** The app's ELK runs in a web worker; tests or other hosts may hand in their own. */
export function setElk(e: ElkLike): void {
  elk = e;
}

export function setDisks(disks: Disk[]): void {
  const graph = buildGraph(disks);
  const selected = get().selected;
  set((s) => ({
    disks,
    graph,
    graphVersion: s.graphVersion + 1,
    selected: selected && graph.byId.has(selected) ? selected : null,
    framed: s.framed && disks.some((d) => d.top === s.framed) ? s.framed : null,
  }));
  // Files drawn before keep their measured size as the first guess: less jumping on reload.
  const known = new Map([...get().boxes].map(([id, b]) => [id, { width: b.width, height: b.height }]));
  void relayout(known.size ? known : undefined);
}

/** Lay the current graph out; with measured sizes once the browser has drawn the cards. */
export async function relayout(sizes?: Map<string, { width: number; height: number }>): Promise<void> {
  const { graph, graphVersion } = get();
  if (!elk) return;
  set({ layingOut: true });
  try {
    const sizeOf = sizes ? (n: GraphNode) => sizes.get(n.id) ?? { width: NODE_WIDTH, height: estimateHeight(n) } : undefined;
    const boxes = await layoutGraph(graph, elk, sizeOf);
    if (get().graphVersion === graphVersion) set({ boxes, layoutVersion: graphVersion, layingOut: false });
  } catch (e) {
    if (get().graphVersion === graphVersion) set({ layingOut: false });
    notify('error', `the graph could not be laid out: ${errorText(e)}`);
  }
}

/** Select a file; when it lies outside the framed disk, frame its (first) disk. */
export function select(path: string | null): void {
  set((s) => {
    const g = path ? s.graph.byId.get(path) : undefined;
    if (!g || (s.framed !== null && g.disks.includes(s.framed))) return { selected: path };
    return { selected: path, framed: g.disks[0] ?? null, frameSeq: s.frameSeq + 1 };
  });
}

/** Select a disk's top file and frame that disk (a top may also be another disk's backing file). */
export function selectDisk(top: string): void {
  set((s) => ({ selected: top, framed: top, frameSeq: s.frameSeq + 1 }));
}

/** Frame the selection's disk again, or every disk when nothing is selected. */
export function refit(): void {
  set((s) => ({ framed: s.selected ? s.framed : null, frameSeq: s.frameSeq + 1 }));
}

/** "base.qcow2: mode 0600 root:root", "/srv/vm: no search permission": the blocker in a few words. */
export function blockerReason(b: Blocker): string {
  const c = b.check;
  if (b.kind === 'search') return `${b.path}: no search permission`;
  if (b.kind === 'access' && c) {
    const name = b.path.slice(b.path.lastIndexOf('/') + 1) || b.path;
    return `${name}: mode ${(c.mode & 0o7777).toString(8).padStart(4, '0')} ${c.user ?? c.uid}:${c.group ?? c.gid}`;
  }
  return b.message.includes(b.path) ? b.message : `${b.path}: ${b.message}`;
}

let verdictRun = 0;

/** Check whether the VM's default user can open every file of `top` (null: forget the verdict). */
export async function checkVerdict(top: string | null): Promise<void> {
  const run = ++verdictRun;
  const info = useHost.getState().info;
  if (!top || !info) {
    set({ verdict: null });
    return;
  }
  set((s) => ({
    verdict: {
      top,
      status: 'pending',
      res: s.verdict?.top === top ? s.verdict.res : null,
      error: null,
      blocked: s.verdict?.top === top ? s.verdict.blocked : new Map(),
    },
  }));
  try {
    const res = await getApi().invoke('access', {
      top,
      profile: { user: info.defaultUser, group: info.defaultGroup, readonly: false, shareable: false },
    });
    const blocked = new Map<string, string>();
    for (const b of res.report.blockers) {
      if (!b.blocking) continue;
      const why = blockerReason(b);
      blocked.set(b.file, blocked.has(b.file) ? `${blocked.get(b.file)}\n${why}` : why);
    }
    if (run === verdictRun) set({ verdict: { top, status: 'ready', res, error: null, blocked } });
  } catch (e) {
    if (run === verdictRun) set({ verdict: { top, status: 'error', res: null, error: errorText(e), blocked: new Map() } });
  }
}
