// Positions for the forest, free of React: each tree laid out by d3-hierarchy's tidy tree (base
// left, its users to the right, each data file under its image), then the trees packed into
// rows. A tree's layout is cached by its signature, so a watcher's delta lays out only the trees
// it changed; packing the rows again is a pass over the trees' sizes.
import { hierarchy, tree as d3tree, type HierarchyPointNode } from 'd3-hierarchy';
import type { ForestKind, ForestNode, ForestTree } from './model.js';

/** Fixed card sizes (CSS gives the cards exactly these): React Flow needs no measuring. */
export const CARD_W = 250;
export const CARD_H = 72;
export const DATA_H = 44;
export const MORE_H = 40;
const DATA_GAP = 8;
const COLUMN = CARD_W + 90;
const SIBLING_GAP = 16;
const UNIT = 4;
const TREE_GAP_X = 80;
const TREE_GAP_Y = 64;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TreeLayout {
  signature: string;
  /** Node id → box, relative to the tree's top-left. */
  boxes: Map<string, Rect>;
  width: number;
  height: number;
}

export interface PackedTree {
  tree: ForestTree;
  layout: TreeLayout;
  x: number;
  y: number;
}

export interface ForestLayout {
  packed: PackedTree[];
  width: number;
  height: number;
  /** Trees laid out afresh by this call (the rest came from the cache). */
  laidOut: number;
}

export function cardHeight(kind: ForestKind): number {
  return kind === 'data' ? DATA_H : kind === 'more' ? MORE_H : CARD_H;
}

/** One tree: d3's tidy tree, horizontal; a slot is an image card plus its data card. */
export function layoutTree(t: ForestTree): TreeLayout {
  const byId = new Map(t.nodes.map((n) => [n.id, n]));
  const slot = (n: ForestNode) => cardHeight(n.kind) + (n.data ? DATA_GAP + DATA_H : 0);
  type H = { n: ForestNode };
  const root = hierarchy<H>({ n: t.nodes[0]! }, (d) =>
    d.n.children
      .map((c) => byId.get(c))
      .filter((x): x is ForestNode => !!x)
      .map((n) => ({ n })),
  );
  const laid = d3tree<H>()
    .nodeSize([UNIT, COLUMN])
    .separation((a, b) => (slot(a.data.n) / 2 + slot(b.data.n) / 2 + SIBLING_GAP * (a.parent === b.parent ? 1 : 2)) / UNIT)(root);
  let minY = Infinity;
  let maxY = -Infinity;
  let maxX = 0;
  laid.each((d: HierarchyPointNode<H>) => {
    const h = slot(d.data.n);
    minY = Math.min(minY, d.x - h / 2);
    maxY = Math.max(maxY, d.x + h / 2);
    maxX = Math.max(maxX, d.y + CARD_W);
  });
  const boxes = new Map<string, Rect>();
  laid.each((d: HierarchyPointNode<H>) => {
    const n = d.data.n;
    const top = d.x - slot(n) / 2 - minY;
    boxes.set(n.id, { x: d.y, y: top, width: CARD_W, height: cardHeight(n.kind) });
    if (n.data) boxes.set(n.data, { x: d.y, y: top + cardHeight(n.kind) + DATA_GAP, width: CARD_W, height: DATA_H });
  });
  return { signature: t.signature, boxes, width: maxX, height: maxY - minY };
}

/**
 * Pack the trees into rows about as wide as the whole is tall (so zooming out shows a block,
 * not a ribbon), reusing `cache`'s layouts for trees whose signature did not change.
 */
export function layoutForest(trees: readonly ForestTree[], cache: Map<string, TreeLayout> = new Map(), viewAspect = 1.6): ForestLayout {
  let laidOut = 0;
  const layouts = trees.map((t) => {
    const hit = cache.get(t.id);
    if (hit && hit.signature === t.signature) return hit;
    laidOut++;
    const l = layoutTree(t);
    cache.set(t.id, l);
    return l;
  });
  let area = 0;
  for (const l of layouts) area += (l.width + TREE_GAP_X) * (l.height + TREE_GAP_Y);
  const widest = layouts.reduce((m, l) => Math.max(m, l.width), 0);
  const rowWidth = Math.max(widest, Math.sqrt(area * viewAspect), 1900);
  const packed: PackedTree[] = [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  let width = 0;
  trees.forEach((tree, i) => {
    const l = layouts[i]!;
    if (x > 0 && x + l.width > rowWidth) {
      y += rowH + TREE_GAP_Y;
      x = 0;
      rowH = 0;
    }
    packed.push({ tree, layout: l, x, y });
    x += l.width + TREE_GAP_X;
    rowH = Math.max(rowH, l.height);
    width = Math.max(width, x - TREE_GAP_X);
  });
  return { packed, width, height: y + rowH, laidOut };
}

/** Absolute box of every shown node. */
export function absoluteBoxes(layout: ForestLayout): Map<string, Rect> {
  const out = new Map<string, Rect>();
  for (const p of layout.packed) {
    for (const [id, b] of p.layout.boxes) out.set(id, { x: p.x + b.x, y: p.y + b.y, width: b.width, height: b.height });
  }
  return out;
}

export type Arrow = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown';

/**
 * The card an arrow key moves to from `id`: the nearest one whose centre lies that way, straying
 * sideways costing three times as much as going straight. Only `candidates` count (the files,
 * not the "+k more" cards); none selected yet starts at the first.
 */
export function nearestCard(boxes: Map<string, Rect>, candidates: (id: string) => boolean, id: string | null, key: Arrow): string | null {
  const here = id ? boxes.get(id) : undefined;
  if (!here) {
    for (const k of boxes.keys()) if (candidates(k)) return k;
    return null;
  }
  const cx = (b: Rect) => b.x + b.width / 2;
  const cy = (b: Rect) => b.y + b.height / 2;
  const horizontal = key === 'ArrowLeft' || key === 'ArrowRight';
  const sign = key === 'ArrowRight' || key === 'ArrowDown' ? 1 : -1;
  let best: string | null = null;
  let bestScore = Infinity;
  for (const [other, b] of boxes) {
    if (other === id || !candidates(other)) continue;
    const along = sign * (horizontal ? cx(b) - cx(here) : cy(b) - cy(here));
    if (along <= 1) continue;
    const score = along + 3 * Math.abs(horizontal ? cy(b) - cy(here) : cx(b) - cx(here));
    if (score < bestScore) {
      bestScore = score;
      best = other;
    }
  }
  return best;
}
