// Which cards lie in a rectangle of the forest, without visiting every card: each packed tree's
// bounding box is bucketed in a coarse grid, so a viewport looks at the trees in its cells and
// only their nodes. The forest view hands the canvas just these cards, whatever the forest's
// size: what a frame, a pan or closing the forest costs follows the screen, not the files.
import type { ForestNode } from './model.js';
import type { ForestLayout, PackedTree, Rect } from './layout.js';

/** World pixels per grid cell: a few cards across, so a screen covers a handful of cells. */
export const CELL = 1024;
/** A tree wider or taller than this many cells is only bucketed along its box's edge rows. */
const MAX_CELLS_PER_TREE = 4096;

export interface TreeGrid {
  packed: readonly PackedTree[];
  /** Cell key → indexes into `packed` of the trees whose box meets the cell. */
  cells: Map<number, number[]>;
  /** Trees too large to bucket cell by cell: always looked at (their boxes are checked). */
  large: number[];
}

/** Cell coordinates fit in 2^20 each way (a billion world pixels): a key is one number. */
const key = (cx: number, cy: number) => cy * 1_048_576 + cx;
const cellOf = (v: number) => Math.max(0, Math.min(1_048_575, Math.floor(v / CELL)));

export function treeGrid(layout: ForestLayout): TreeGrid {
  const cells = new Map<number, number[]>();
  const large: number[] = [];
  layout.packed.forEach((p, i) => {
    const x0 = cellOf(p.x);
    const y0 = cellOf(p.y);
    const x1 = cellOf(p.x + p.layout.width);
    const y1 = cellOf(p.y + p.layout.height);
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_CELLS_PER_TREE) {
      large.push(i);
      return;
    }
    for (let cy = y0; cy <= y1; cy++) {
      for (let cx = x0; cx <= x1; cx++) {
        const k = key(cx, cy);
        const list = cells.get(k);
        if (list) list.push(i);
        else cells.set(k, [i]);
      }
    }
  });
  return { packed: layout.packed, cells, large };
}

export function meets(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

const treeBox = (p: PackedTree): Rect => ({ x: p.x, y: p.y, width: p.layout.width, height: p.layout.height });

/** The trees whose bounding box meets `r`, in packing order. */
export function treesIn(grid: TreeGrid, r: Rect): PackedTree[] {
  const hit = new Set<number>();
  const x0 = cellOf(r.x);
  const y0 = cellOf(r.y);
  const x1 = cellOf(r.x + r.width);
  const y1 = cellOf(r.y + r.height);
  for (let cy = y0; cy <= y1; cy++) {
    for (let cx = x0; cx <= x1; cx++) for (const i of grid.cells.get(key(cx, cy)) ?? []) hit.add(i);
  }
  for (const i of grid.large) hit.add(i);
  return [...hit]
    .sort((a, b) => a - b)
    .map((i) => grid.packed[i]!)
    .filter((p) => meets(treeBox(p), r));
}

export interface PlacedNode {
  n: ForestNode;
  /** Absolute box. */
  box: Rect;
}

/**
 * The nodes to draw for `r`: those whose card meets it, and both ends of every edge whose span
 * meets it (a line crossing the screen keeps its cards, so React Flow can draw it).
 */
export function nodesIn(grid: TreeGrid, r: Rect): PlacedNode[] {
  const out: PlacedNode[] = [];
  for (const p of treesIn(grid, r)) {
    const abs = (id: string): Rect | null => {
      const b = p.layout.boxes.get(id);
      return b ? { x: p.x + b.x, y: p.y + b.y, width: b.width, height: b.height } : null;
    };
    const keep = new Set<string>();
    for (const n of p.tree.nodes) {
      const b = abs(n.id);
      if (!b) continue;
      if (meets(b, r)) keep.add(n.id);
      const pb = n.parent ? abs(n.parent) : null;
      if (!pb) continue;
      const x = Math.min(b.x, pb.x);
      const y = Math.min(b.y, pb.y);
      const span = { x, y, width: Math.max(b.x + b.width, pb.x + pb.width) - x, height: Math.max(b.y + b.height, pb.y + pb.height) - y };
      if (meets(span, r)) keep.add(n.id).add(n.parent!);
    }
    for (const n of p.tree.nodes) if (keep.has(n.id)) out.push({ n, box: abs(n.id)! });
  }
  return out;
}
