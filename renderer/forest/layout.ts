// Positions for the forest, free of React: each tree laid out by d3-hierarchy's tidy tree (base
// left, its users to the right, each data file under its image), then the trees packed into
// rows. A tree's layout is cached by its signature, so a watcher's delta lays out only the trees
// it changed; packing the rows again is a pass over the trees' sizes.
import { hierarchy, tree as d3tree, type HierarchyPointNode } from 'd3-hierarchy';
import { splitRemoteId } from '../../shared/ipc.js';
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
  /** How wide the rows may be (kept by the next update, so trees stay put). */
  rowWidth: number;
  /** The trees' summed areas (with gaps) and the widest tree: the next update adds its own. */
  area: number;
  widest: number;
  /** The forest's width after each packed tree (so an update resumes after any of them). */
  widths: number[];
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
 * A tree's layout from the cache (by id, while its signature holds), else laid out and cached:
 * `fresh` when it was laid out now. A forest streaming in lays its new trees out as they come,
 * so the frame that packs them has only the packing left to do.
 */
export function cachedLayout(t: ForestTree, cache: Map<string, TreeLayout>): { layout: TreeLayout; fresh: boolean } {
  const known = laidOutTree.get(t);
  if (known) return { layout: known, fresh: false };
  const hit = cache.get(t.id);
  const fresh = !hit || hit.signature !== t.signature;
  const layout = fresh ? layoutTree(t) : hit;
  if (fresh) cache.set(t.id, layout);
  laidOutTree.set(t, layout);
  return { layout, fresh };
}

/** Each tree object's layout and host, found without hashing its id (a forest update keeps most trees). */
const laidOutTree = new WeakMap<ForestTree, TreeLayout>();
const hostOfTree = new WeakMap<ForestTree, string>();

function hostOf(tree: ForestTree): string {
  let h = hostOfTree.get(tree);
  if (h === undefined) hostOfTree.set(tree, (h = splitRemoteId(tree.id)?.host ?? ''));
  return h;
}

/**
 * Pack the trees into rows about as wide as the whole is tall (so zooming out shows a block,
 * not a ribbon), reusing `cache`'s layouts for trees whose signature did not change. Given the
 * previous layout, the trees it packed first in the same order keep their places (its rows stay
 * as wide while that is at least half of what the whole would want): an update packs only the
 * trees after the first one that changed, and the hosts' bands after the last changed one are
 * moved down or up whole (streaming hosts change one band at a time; repacking every band after
 * it cost a pass over all their trees per update).
 */
export function layoutForest(
  trees: readonly ForestTree[],
  cache: Map<string, TreeLayout> = new Map(),
  viewAspect = 1.6,
  prev?: ForestLayout,
): ForestLayout {
  let laidOut = 0;
  const layoutOf = (t: ForestTree): TreeLayout => {
    const l = cachedLayout(t, cache);
    if (l.fresh) laidOut++;
    return l.layout;
  };
  const areaOf = (l: TreeLayout) => (l.width + TREE_GAP_X) * (l.height + TREE_GAP_Y);
  // The trees packed before, in the same order, at the start and at the end: only those between
  // them are new.
  let same = 0;
  let tail = 0;
  if (prev) {
    const n = Math.min(trees.length, prev.packed.length);
    while (same < n && prev.packed[same]!.tree === trees[same]) same++;
    while (tail < n - same && prev.packed[prev.packed.length - 1 - tail]!.tree === trees[trees.length - 1 - tail]) tail++;
  }
  const end = trees.length - tail;
  /** Where the tail starts in `prev`'s packing (its trees, in the same order, end both). */
  const shift = prev ? prev.packed.length - trees.length : 0;
  const middle: TreeLayout[] = [];
  let area = 0;
  let widest = 0;
  if (prev && (same > 0 || tail > 0)) {
    // The trees kept at either end are in prev's sum already.
    area = prev.area;
    widest = same > 0 ? prev.widest : 0;
    for (let i = same; i < prev.packed.length - tail; i++) area -= areaOf(prev.packed[i]!.layout);
    if (same === 0)
      for (let i = prev.packed.length - tail; i < prev.packed.length; i++) widest = Math.max(widest, prev.packed[i]!.layout.width);
  }
  for (let i = same; i < end; i++) {
    const l = layoutOf(trees[i]!);
    middle.push(l);
    area += areaOf(l);
    widest = Math.max(widest, l.width);
  }
  const layoutAt = (i: number): TreeLayout =>
    i < same ? prev!.packed[i]!.layout : i < end ? middle[i - same]! : prev!.packed[i + shift]!.layout;
  let rowWidth = Math.max(widest, Math.sqrt(area * viewAspect), 1900);
  let kept = 0;
  if (prev && prev.rowWidth >= widest && prev.rowWidth * 2 >= rowWidth) {
    rowWidth = prev.rowWidth;
    kept = same;
  }
  const packed: PackedTree[] = prev ? prev.packed.slice(0, kept) : [];
  let x = 0;
  let y = 0;
  let rowH = 0;
  let width = kept ? prev!.widths[kept - 1]! : 0;
  let host: string | undefined;
  // Where packing stood after the kept trees: the end of their last row.
  for (let i = kept - 1; i >= 0 && packed[i]!.y === packed[kept - 1]!.y; i--) rowH = Math.max(rowH, packed[i]!.layout.height);
  if (kept) {
    const last = packed[kept - 1]!;
    x = last.x + last.layout.width + TREE_GAP_X;
    y = last.y;
    host = hostOf(last.tree);
  }
  const widths: number[] = prev && kept ? prev.widths.slice(0, kept) : [];
  // The same rows as before: a band of the tail that started a row in `prev` starts one here
  // too, and everything after it lands as it did, only `dy` lower.
  const sameRows = !!prev && rowWidth === prev.rowWidth;
  for (let i = kept; i < trees.length; i++) {
    const tree = trees[i]!;
    const l = layoutAt(i);
    // The top level is the host: each host's trees start a row of their own (a host's trees
    // come together, local ones first).
    const treeHost = hostOf(tree);
    const newHost = i > 0 && treeHost !== host;
    host = treeHost;
    if (x > 0 && (newHost || x + l.width > rowWidth)) {
      y += rowH + TREE_GAP_Y;
      x = 0;
      rowH = 0;
    }
    if (sameRows && newHost && i >= end) {
      const was = prev!.packed[i + shift]!;
      const before = prev!.packed[i + shift - 1];
      if (was.x === 0 && before && hostOf(before.tree) !== treeHost) {
        const dy = y - was.y;
        for (let j = i; j < trees.length; j++) {
          const p = prev!.packed[j + shift]!;
          packed.push(dy === 0 ? p : { tree: p.tree, layout: p.layout, x: p.x, y: p.y + dy });
          width = Math.max(width, p.x + p.layout.width);
          widths.push(width);
        }
        return { packed, width, height: prev!.height + dy, laidOut, rowWidth, area, widest, widths };
      }
    }
    packed.push({ tree, layout: l, x, y });
    x += l.width + TREE_GAP_X;
    rowH = Math.max(rowH, l.height);
    width = Math.max(width, x - TREE_GAP_X);
    widths.push(width);
  }
  return {
    packed,
    width,
    height: y + rowH,
    laidOut,
    rowWidth,
    area,
    widest,
    widths,
  };
}

/**
 * Absolute boxes of the shown nodes, looked up on demand: making a Map of every box was a pass
 * over all the forest's nodes on every update. `treeOf` gives a file's tree; `more:` and
 * `missing:` ids are their tree's or their parent's.
 */
export class PackedBoxes implements ReadonlyMap<string, Rect> {
  /** Built on the first look-up (most updates are drawn without one). */
  private index: Map<string, PackedTree> | null = null;
  private count = -1;

  constructor(
    private readonly layout: ForestLayout,
    private readonly treeOf: ReadonlyMap<string, string>,
  ) {}

  get size(): number {
    if (this.count < 0) this.count = this.layout.packed.reduce((n, p) => n + p.layout.boxes.size, 0);
    return this.count;
  }

  private get at(): Map<string, PackedTree> {
    this.index ??= new Map(this.layout.packed.map((p) => [p.tree.id, p]));
    return this.index;
  }

  get(id: string): Rect | undefined {
    const p =
      this.at.get(this.treeOf.get(id) ?? '') ??
      this.at.get(id) ??
      (id.startsWith('more:') ? this.at.get(this.treeOf.get(id.slice(5)) ?? '') : undefined);
    const b = p?.layout.boxes.get(id);
    return p && b ? { x: p.x + b.x, y: p.y + b.y, width: b.width, height: b.height } : undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  *entries(): MapIterator<[string, Rect]> {
    for (const p of this.layout.packed)
      for (const [id, b] of p.layout.boxes) yield [id, { x: p.x + b.x, y: p.y + b.y, width: b.width, height: b.height }];
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<Rect> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, Rect]> {
    return this.entries();
  }

  forEach(cb: (value: Rect, key: string, map: ReadonlyMap<string, Rect>) => void): void {
    for (const [k, v] of this.entries()) cb(v, k, this);
  }
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
export function nearestCard(
  boxes: ReadonlyMap<string, Rect>,
  candidates: (id: string) => boolean,
  id: string | null,
  key: Arrow,
): string | null {
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
