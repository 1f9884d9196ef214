// The graph model, free of React: opened disks (ChainNode trees) → one node per real file
// (a base several overlays share is drawn once) and typed edges, then positions from elkjs.
// Imported by the React view and by the unit tests alike.
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { Disk } from '../../shared/ipc.js';
import type { ChainNode, Problem, Role } from '../../shared/model.js';

export type EdgeKind = 'backing' | 'data-file';

export interface GraphNode {
  /** The real path: the node's id in the graph, in React Flow and in ELK. */
  id: string;
  /** The record the node shows (the first one met; every record of a file describes the same file). */
  node: ChainNode;
  role: Role;
  /** Tops of the disks whose chain holds this file. */
  disks: string[];
  /** Problems from every record of this file, deduplicated. */
  problems: Problem[];
  /** qemu-img's JSON entry for this file, when qemu opens it as part of a chain. */
  qemu: Record<string, unknown> | null;
  /** How deep it sits in its first disk (0 = top). */
  depth: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
}

export interface ChainGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  byId: Map<string, GraphNode>;
  /** Outgoing edges per node (backing first, then data file). */
  out: Map<string, GraphEdge[]>;
  /** Incoming edges per node. */
  in: Map<string, GraphEdge[]>;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What layoutGraph needs of an ELK instance (the bundled one in tests, a web worker in the app). */
export interface ElkLike {
  layout(graph: ElkNode): Promise<ElkNode>;
}

/** Role shown when one file plays several (a top one disk opens that another uses as backing). */
function mergeRole(a: Role, b: Role): Role {
  if (a === b) return a;
  if (a === 'image') return b;
  return a;
}

function qemuEntryFor(disk: Disk, n: ChainNode): Record<string, unknown> | null {
  if (!disk.qemu || n.role === 'data-file') return null;
  const filename = n.role === 'image' ? n.name : n.nameInfo?.qemuPath;
  return disk.qemu.entries.find((e) => e['filename'] === filename) ?? null;
}

/** Merge the disks' chains into one graph; iterative, so a chain thousands deep is fine. */
export function buildGraph(disks: readonly Disk[]): ChainGraph {
  const byId = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const out = new Map<string, GraphEdge[]>();
  const inn = new Map<string, GraphEdge[]>();

  const addEdge = (source: string, target: string, kind: EdgeKind) => {
    const id = `${kind}:${source}->${target}`;
    if (edges.has(id)) return;
    const e: GraphEdge = { id, source, target, kind };
    edges.set(id, e);
    (out.get(source) ?? out.set(source, []).get(source)!).push(e);
    (inn.get(target) ?? inn.set(target, []).get(target)!).push(e);
  };

  for (const disk of disks) {
    const stack: ChainNode[] = [disk.root];
    while (stack.length) {
      const n = stack.pop()!;
      let g = byId.get(n.path);
      if (!g) {
        g = { id: n.path, node: n, role: n.role, disks: [], problems: [], qemu: null, depth: n.depth };
        byId.set(n.path, g);
      } else if (!g.disks.includes(disk.top)) {
        // Met again in another disk: a top one disk opens may be another's backing file.
        // (Met again in the same disk, it is a loop record: the first record's role stands.)
        g.role = mergeRole(g.role, n.role);
      }
      if (!g.disks.includes(disk.top)) g.disks.push(disk.top);
      for (const p of n.problems) {
        if (!g.problems.some((q) => q.code === p.code && q.message === p.message)) g.problems.push(p);
      }
      g.qemu ??= qemuEntryFor(disk, n);
      // A loop record names a file already in the graph: the edge to it shows the loop.
      if (n.dataFile) {
        addEdge(n.path, n.dataFile.path, 'data-file');
        stack.push(n.dataFile);
      }
      if (n.backing) {
        addEdge(n.path, n.backing.path, 'backing');
        stack.push(n.backing);
      }
    }
  }
  for (const list of out.values()) list.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'backing' ? -1 : 1));
  return { nodes: [...byId.values()], edges: [...edges.values()], byId, out, in: inn };
}

export const NODE_WIDTH = 320;

/** A first guess of a node card's height, before the browser has measured it. */
export function estimateHeight(g: GraphNode): number {
  const charsPerLine = 44;
  let h = 12 + 22 + 4 * 19; // padding, title, four text rows
  if ((g.node.selinux ?? '').length > 34) h += 17;
  if (g.node.remembered.dac || g.node.remembered.selinux) h += 26;
  for (const p of g.problems) h += 8 + 16 * Math.max(1, Math.ceil((p.code.length + p.message.length + 2) / charsPerLine));
  return h;
}

export const LAYOUT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.separateConnectedComponents': 'true',
  'elk.spacing.componentComponent': '56',
  'elk.spacing.nodeNode': '28',
  'elk.layered.spacing.nodeNodeBetweenLayers': '72',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
};

/** Inside an image's group: the image above its data file. */
const GROUP_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.padding': '[top=0,left=0,bottom=0,right=0]',
  'elk.layered.spacing.nodeNodeBetweenLayers': '40',
  'elk.portConstraints': 'FIXED_POS',
};

/** Where chain edges meet a group, from its top: image cards of one chain line up. */
const PORT_Y = 40;

/**
 * Data files drawn right under their image: those only one image names and that lead nowhere.
 * Maps the data file to its image. (A data file shared or looped is laid out like any node.)
 */
export function attachedDataFiles(g: ChainGraph): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of g.edges) {
    if (e.kind !== 'data-file' || e.source === e.target) continue;
    if ((g.in.get(e.target)?.length ?? 0) !== 1 || (g.out.get(e.target)?.length ?? 0) !== 0) continue;
    if (out.has(e.source)) continue; // the image is itself attached somewhere: keep it simple
    out.set(e.target, e.source);
  }
  // An image that is itself an attached data file cannot carry one.
  for (const [data, image] of [...out]) if (out.has(image)) out.delete(data);
  return out;
}

const groupId = (id: string) => `group:${id}`;

/**
 * Positions for every node: top → backing → base left to right, one band per disk, each data
 * file under its image. elkjs does the layout; each image and its data file form one ELK group.
 */
export async function layoutGraph(
  g: ChainGraph,
  elk: ElkLike,
  sizeOf: (n: GraphNode) => { width: number; height: number } = (n) => ({ width: NODE_WIDTH, height: estimateHeight(n) }),
): Promise<Map<string, Box>> {
  const attached = attachedDataFiles(g);
  const dataOf = new Map([...attached].map(([data, image]) => [image, data]));
  const groupOf = (id: string) => groupId(attached.get(id) ?? id);
  const groups: ElkNode[] = [];
  for (const n of g.nodes) {
    if (attached.has(n.id)) continue;
    const size = sizeOf(n);
    const data = dataOf.get(n.id);
    const children: ElkNode[] = [{ id: n.id, ...size }];
    const edges: ElkExtendedEdge[] = [];
    if (data) {
      children.push({ id: data, ...sizeOf(g.byId.get(data)!) });
      edges.push({ id: `inner:${n.id}`, sources: [n.id], targets: [data] });
    }
    const gid = groupId(n.id);
    groups.push({
      id: gid,
      layoutOptions: GROUP_OPTIONS,
      ports: [
        { id: `${gid}:in`, x: 0, y: PORT_Y, width: 1, height: 1, layoutOptions: { 'elk.port.side': 'WEST' } },
        { id: `${gid}:out`, x: size.width, y: PORT_Y, width: 1, height: 1, layoutOptions: { 'elk.port.side': 'EAST' } },
      ],
      children,
      edges,
    });
  }
  const seen = new Set<string>();
  const edges: ElkExtendedEdge[] = [];
  for (const e of g.edges) {
    const a = groupOf(e.source);
    const b = groupOf(e.target);
    if (a === b || seen.has(`${a}\n${b}`)) continue;
    seen.add(`${a}\n${b}`);
    edges.push({ id: `${a}->${b}`, sources: [`${a}:out`], targets: [`${b}:in`] });
  }
  const laid = await elk.layout({ id: 'root', layoutOptions: LAYOUT_OPTIONS, children: groups, edges });
  const boxes = new Map<string, Box>();
  for (const grp of laid.children ?? []) {
    for (const c of grp.children ?? []) {
      boxes.set(c.id, {
        x: (grp.x ?? 0) + (c.x ?? 0),
        y: (grp.y ?? 0) + (c.y ?? 0),
        width: c.width ?? NODE_WIDTH,
        height: c.height ?? 0,
      });
    }
  }
  return boxes;
}

/** The node a keyboard arrow moves to from `id`, using the laid-out positions. */
export function neighbour(
  g: ChainGraph,
  boxes: Map<string, Box>,
  id: string | null,
  key: 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown',
): string | null {
  const ids = g.nodes.map((n) => n.id);
  if (ids.length === 0) return null;
  if (!id || !g.byId.has(id)) return ids[0]!;
  if (key === 'ArrowRight') return g.out.get(id)?.[0]?.target ?? null;
  if (key === 'ArrowLeft') return g.in.get(id)?.[0]?.source ?? null;
  const here = boxes.get(id);
  if (!here) return null;
  const cx = (b: Box) => b.x + b.width / 2;
  const cy = (b: Box) => b.y + b.height / 2;
  let best: string | null = null;
  let bestScore = Infinity;
  for (const other of ids) {
    if (other === id) continue;
    const b = boxes.get(other);
    if (!b) continue;
    const dy = cy(b) - cy(here);
    if (key === 'ArrowDown' ? dy <= 1 : dy >= -1) continue;
    const score = Math.abs(dy) + 3 * Math.abs(cx(b) - cx(here));
    if (score < bestScore) {
      bestScore = score;
      best = other;
    }
  }
  return best;
}

/** The disk (top path) an action on `selected` applies to: the first disk holding it. */
export function diskFor(g: ChainGraph, selected: string | null, disks: readonly Disk[]): string | null {
  if (selected) {
    const n = g.byId.get(selected);
    if (n && n.disks[0]) return n.disks[0];
  }
  return disks[0]?.top ?? null;
}

/** The name bytes as text, with anything unprintable escaped. */
export function decodeRawName(hex: string): string {
  const bytes = new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
