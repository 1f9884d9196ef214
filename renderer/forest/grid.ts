// Which cards lie in a rectangle of the forest, without visiting every card: layout.ts packs
// the trees in rows, in order, so their tops never decrease and a row ends before the next one
// begins. A viewport's trees are then found by two binary searches and a look at the rows it
// meets, and only their nodes are visited. The forest view hands the canvas just these cards,
// whatever the forest's size: what a frame, a pan or closing the forest costs follows the
// screen, not the files, and a new layout costs nothing to index.
import type { ForestNode } from './model.js';
import type { ForestLayout, PackedTree, Rect } from './layout.js';

export interface TreeGrid {
  /** The packed trees, in rows from the top (layout.ts keeps them so). */
  packed: readonly PackedTree[];
}

export function treeGrid(layout: ForestLayout): TreeGrid {
  return { packed: layout.packed };
}

/** The first tree whose top is below `y` (or at it, with `orAt`). */
function firstBelow(packed: readonly PackedTree[], y: number, orAt = false): number {
  let lo = 0;
  let hi = packed.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = packed[mid]!.y;
    if (t > y || (orAt && t === y)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function meets(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

const treeBox = (p: PackedTree): Rect => ({ x: p.x, y: p.y, width: p.layout.width, height: p.layout.height });

/** The trees whose bounding box meets `r`, in packing order. */
export function treesIn(grid: TreeGrid, r: Rect): PackedTree[] {
  const { packed } = grid;
  // A row ends before the next begins: rows above the last one starting at or above r's top
  // cannot meet r.
  const above = firstBelow(packed, r.y);
  const from = above > 0 ? firstBelow(packed, packed[above - 1]!.y, true) : 0;
  const to = firstBelow(packed, r.y + r.height, true);
  const out: PackedTree[] = [];
  for (let i = from; i < to; i++) if (meets(treeBox(packed[i]!), r)) out.push(packed[i]!);
  return out;
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
