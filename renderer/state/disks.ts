// The open disks as a graph: the disks, the graph built from them, its laid-out boxes and the
// selected file. Reports to notices only.
import { create } from 'zustand';
import type { Disk } from '../../shared/ipc.js';
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
import { errorText, notify } from './notices.js';

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
}

export const useDisks = create<DisksState>()(() => ({
  disks: [],
  graph: buildGraph([]),
  boxes: new Map(),
  graphVersion: 0,
  layoutVersion: 0,
  layingOut: false,
  selected: null,
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

export function select(path: string | null): void {
  set({ selected: path });
}
