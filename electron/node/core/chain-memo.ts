// One batch of walks (a plan of 9,000 overlays over a few hundred shared bases) walks each
// backing subtree once: an overlay that names a base exactly as an earlier overlay did links the
// subtree that walk built instead of opening, reading and labelling it all again.
//
// A subtree is kept only when its top node has no problem (the message names the parent it was
// met through), and no node in it has extent files or a depth limit reached (extents draw on a
// per-chain budget) or a loop (that depends on the chain above). A reuse still checks every file of the subtree against
// the chain's own, so a loop through it is found as the walk finds it.
import type { ChainNode } from '../../../shared/model.js';

/** A kept subtree: the files of its top node (device:inode, real path), then those below. */
interface Subtree {
  own: [string, string][];
  below: Subtree | null;
}

export interface SubtreeMemo {
  byKey: Map<string, ChainNode>;
  byNode: Map<ChainNode, Subtree>;
}

export function subtreeMemo(): SubtreeMemo {
  return { byKey: new Map(), byNode: new Map() };
}

/** Everything a backing node's subtree is made from, besides the files themselves. */
export interface SubtreeSource {
  name: string;
  depth: number;
  joined: string;
  qemuPath: string;
  nameInfo: unknown;
  format: unknown;
}

export function subtreeKey(p: SubtreeSource, maxDepth: number): string {
  return JSON.stringify([p.name, p.depth, p.joined, p.qemuPath, p.nameInfo, p.format, maxDepth]);
}

/**
 * The kept subtree for `key`, its files added to the chain's `seen`; null when there is none,
 * or when one of its files is already in this chain (walked again, the loop is reported).
 */
export function reuseSubtree(memo: SubtreeMemo, key: string, seen: Map<string, string>): ChainNode | null {
  const node = memo.byKey.get(key);
  if (!node) return null;
  const files: [string, string][] = [];
  for (let s: Subtree | null = memo.byNode.get(node)!; s; s = s.below)
    for (const f of s.own) {
      if (seen.has(f[0])) return null;
      files.push(f);
    }
  for (const [k, real] of files) seen.set(k, real);
  return node;
}

/** The files a node and its data file hold (null: the node can be in no kept subtree). */
function ownFiles(node: ChainNode): [string, string][] | null {
  const files: [string, string][] = [];
  for (const n of node.dataFile ? [node, node.dataFile] : [node]) {
    if (n.extents || n.problems.some((x) => x.code === 'loop' || x.code === 'too-deep')) return null;
    if (n.stat) files.push([`${n.stat.dev}:${n.stat.ino}`, n.path]);
  }
  return files;
}

/** Keep the subtrees of one finished walk: `walked` are its backing nodes, top down, with their keys. */
export function keepSubtrees(memo: SubtreeMemo, walked: { key: string; node: ChainNode }[]): void {
  for (let i = walked.length - 1; i >= 0; i--) {
    const { key, node } = walked[i]!;
    const below = node.backing ? memo.byNode.get(node.backing) : null;
    const own = ownFiles(node);
    // Above a subtree that cannot be kept, none can.
    if (below === undefined || own === null) return;
    memo.byNode.set(node, { own, below });
    if (node.problems.length === 0) memo.byKey.set(key, node);
  }
}
