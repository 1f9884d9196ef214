// The forest model, free of React: scanned files (shared/scan.ts) → one tree per base (the
// base, the images that use it, theirs in turn, each image's data file under it), broken
// chains rooted at what they miss, orphans alone. Large fans are collapsed to a few users and a
// "+k more" node. Filters and the selection's highlight are pure functions of the same model.
import { BREAKING, type ScannedFile } from '../../shared/scan.js';
import { ownerString } from '../../shared/text.js';

/** A file (or fan) with more users than this shows FAN_SHOWN of them and a "+k more" node. */
export const FAN_LIMIT = 8;
export const FAN_SHOWN = 5;

export type ForestKind = 'base' | 'image' | 'data' | 'orphan' | 'missing' | 'more';

export interface ForestNode {
  /** The real path; `missing:<image>` for a missing backing file; `more:<parent>` for a fan's rest. */
  id: string;
  kind: ForestKind;
  file: ScannedFile | null;
  /** Backing parent in the tree (a data node: its image). */
  parent: string | null;
  /** Backing children shown (sorted), and the data file drawn under this image. */
  children: string[];
  data: string | null;
  /** For `more`: the children it stands for; for `missing`: the name that is missing. */
  hidden: string[];
  missingName: string | null;
  /** Allocated bytes of the chain from here down to its base, data files included. */
  chainAllocated: number;
  /** No image uses it: a disk (relabel and restore start here). */
  top: boolean;
  /** The tops (disks) whose chains go through it, middle layers not counted. */
  topUsers: number;
  broken: boolean;
}

export interface ForestTree {
  /** Its root node's id. */
  id: string;
  /** Every node, root first (breadth first), `more` nodes included. */
  nodes: ForestNode[];
  /** Every file path in the tree, hidden ones included. */
  paths: string[];
  broken: boolean;
  orphan: boolean;
  /** Changes whenever anything drawn in the tree changes (layouts are cached by it). */
  signature: string;
}

export interface Forest {
  trees: ForestTree[];
  /** Node id → node (shown nodes only) and file path → its tree id (hidden ones included). */
  byId: Map<string, ForestNode>;
  treeOf: Map<string, string>;
  /** Every file's backing users, transitively, is what a selection highlights (see usersOf). */
  files: ReadonlyMap<string, ScannedFile>;
}

export interface ForestFilter {
  name: string;
  owner: string;
  context: string;
  /** '' (any file), 'any' (any problem), 'broken' (a broken chain), 'orphan', or a problem code. */
  problem: string;
}

export const NO_FILTER: ForestFilter = { name: '', owner: '', context: '', problem: '' };

export function filterActive(f: ForestFilter): boolean {
  return !!(f.name.trim() || f.owner.trim() || f.context.trim() || f.problem);
}

const breaking = (f: ScannedFile) => f.problems.some((p) => BREAKING.has(p.code));

/** A disk: an image in the scanned folders that no image uses. */
export const isTop = (f: ScannedFile) => f.isImage && !f.external && f.usedBy.length === 0;

/** A file no image uses that is no image itself: it stands alone. */
const isStandalone = (f: ScannedFile) => !f.isImage && f.usedBy.length === 0 && !f.external;

/**
 * How many tops each file serves: each top's chain is walked down (backing files and data
 * files), so a middle layer adds nothing of its own. Walks stop at a file seen on the same walk
 * (a loop), so each is as long as its chain at most.
 */
export function topUsersOf(files: ReadonlyMap<string, ScannedFile>): Map<string, number> {
  const out = new Map<string, number>();
  const bump = (p: string) => out.set(p, (out.get(p) ?? 0) + 1);
  for (const f of files.values()) {
    if (!isTop(f)) continue;
    const seen = new Set<string>([f.path]);
    for (let cur = files.get(f.backing ?? ''); cur && !seen.has(cur.path); cur = files.get(cur.backing ?? '')) {
      seen.add(cur.path);
      bump(cur.path);
      if (cur.dataFile && cur.dataFile !== cur.path && files.has(cur.dataFile)) bump(cur.dataFile);
    }
  }
  return out;
}

/**
 * The word a card shows for a node. The base is the bottom of a chain; a file that uses a
 * backing file and is used in turn is a middle layer, not a base.
 */
export function roleLabel(n: ForestNode): string {
  switch (n.kind) {
    case 'base':
      return n.file?.backing ? 'layer' : 'base';
    case 'image':
      return n.top ? 'top' : n.file?.backing ? 'layer' : 'image';
    case 'data':
      return 'data file';
    case 'orphan':
      return 'standalone';
    case 'missing':
      return 'missing';
    case 'more':
      return 'more';
  }
}

/** Does this file match every field of the filter? (Substrings, case-insensitive.) */
export function fileMatches(file: ScannedFile, f: ForestFilter, brokenTree: boolean): boolean {
  const has = (hay: string, needle: string) => !needle.trim() || hay.toLowerCase().includes(needle.trim().toLowerCase());
  if (!has(file.path, f.name)) return false;
  if (!has(file.owner ? ownerString(file.owner) : '', f.owner)) return false;
  if (!has(file.selinux ?? '', f.context)) return false;
  switch (f.problem) {
    case '':
      return true;
    case 'any':
      return file.problems.length > 0;
    case 'broken':
      return brokenTree && (breaking(file) || file.problems.length > 0);
    case 'orphan':
      return isStandalone(file);
    default:
      return file.problems.some((p) => p.code === f.problem);
  }
}

/** The data file of an image, drawn under it: the first image (by path) naming it owns it. */
function dataOwners(files: ReadonlyMap<string, ScannedFile>): Map<string, string> {
  const owner = new Map<string, string>();
  for (const f of [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const d = f.dataFile;
    if (d && d !== f.path && files.has(d) && !owner.has(d)) owner.set(d, f.path);
  }
  return owner;
}

/**
 * Build the forest. `expanded` names files whose whole fan is shown; `reveal` names files that
 * are shown even inside a collapsed fan (filter matches, the selection).
 */
export function buildForest(
  files: ReadonlyMap<string, ScannedFile>,
  expanded: ReadonlySet<string> = new Set(),
  reveal: ReadonlySet<string> = new Set(),
): Forest {
  const dataOf = dataOwners(files);
  const topUsers = topUsersOf(files);
  const parentOf = (f: ScannedFile): string | null =>
    f.backing && f.backing !== f.path && files.has(f.backing) && !dataOf.has(f.path) ? f.backing : null;
  const kids = new Map<string, string[]>();
  for (const f of files.values()) {
    if (dataOf.has(f.path)) continue;
    const p = parentOf(f);
    if (p) (kids.get(p) ?? kids.set(p, []).get(p)!).push(f.path);
  }
  for (const list of kids.values()) list.sort();

  // Files that reveal pulls out of a collapsed fan: they and every ancestor up to the root.
  const revealUp = new Set<string>();
  for (const r of reveal) {
    let cur: string | null = dataOf.get(r) ?? r;
    for (let i = 0; cur && i < 10_000 && !revealUp.has(cur); i++) {
      revealUp.add(cur);
      const f = files.get(cur);
      cur = f ? parentOf(f) : null;
    }
  }

  const byId = new Map<string, ForestNode>();
  const treeOf = new Map<string, string>();
  const trees: ForestTree[] = [];
  const placed = new Set<string>();

  const makeTree = (rootPath: string) => {
    const rootFile = files.get(rootPath)!;
    const nodes: ForestNode[] = [];
    const paths: string[] = [];
    let treeId = rootPath;
    const missing =
      rootFile.backing &&
      rootFile.backing !== rootPath &&
      !files.has(rootFile.backing) &&
      rootFile.problems.some((p) => p.code === 'missing');
    let rootParent: string | null = null;
    if (missing) {
      treeId = `missing:${rootPath}`;
      const m: ForestNode = {
        id: treeId,
        kind: 'missing',
        file: null,
        parent: null,
        children: [rootPath],
        data: null,
        hidden: [],
        missingName: rootFile.backing,
        chainAllocated: 0,
        top: false,
        topUsers: 0,
        broken: true,
      };
      nodes.push(m);
      rootParent = treeId;
    }
    // Breadth first, iterative: a chain thousands deep is fine.
    const queue: Array<[string, string | null, number]> = [[rootPath, rootParent, 0]];
    for (let qi = 0; qi < queue.length; qi++) {
      const [p, parent, parentAlloc] = queue[qi]!;
      if (placed.has(p)) continue;
      placed.add(p);
      const f = files.get(p)!;
      paths.push(p);
      const dataPath = f.dataFile && dataOf.get(f.dataFile) === p ? f.dataFile : null;
      const data = dataPath ? files.get(dataPath)! : null;
      const chainAllocated = parentAlloc + (f.allocated ?? 0) + (data?.allocated ?? 0);
      const all = (kids.get(p) ?? []).filter((c) => !placed.has(c));
      let shown = all;
      let hidden: string[] = [];
      if (all.length > FAN_LIMIT && !expanded.has(p)) {
        shown = all.filter((c, i) => i < FAN_SHOWN || revealUp.has(c));
        hidden = all.filter((c) => !shown.includes(c));
      }
      const kind: ForestKind = isStandalone(f) ? 'orphan' : all.length > 0 ? 'base' : 'image';
      const node: ForestNode = {
        id: p,
        kind,
        file: f,
        parent,
        children: [...shown],
        data: dataPath,
        hidden: [],
        missingName: null,
        chainAllocated,
        top: isTop(f),
        topUsers: topUsers.get(p) ?? 0,
        broken: breaking(f),
      };
      nodes.push(node);
      if (data) {
        paths.push(data.path);
        placed.add(data.path);
        nodes.push({
          id: data.path,
          kind: 'data',
          file: data,
          parent: p,
          children: [],
          data: null,
          hidden: [],
          missingName: null,
          chainAllocated: data.allocated ?? 0,
          top: false,
          topUsers: topUsers.get(data.path) ?? 0,
          broken: breaking(data),
        });
      }
      for (const c of shown) queue.push([c, p, chainAllocated]);
      if (hidden.length) {
        const more: ForestNode = {
          id: `more:${p}`,
          kind: 'more',
          file: null,
          parent: p,
          children: [],
          data: null,
          hidden,
          missingName: null,
          chainAllocated: 0,
          top: false,
          topUsers: 0,
          broken: false,
        };
        node.children.push(more.id);
        nodes.push(more);
        // Hidden files still belong to this tree (for counts, filters and the highlight).
        const stack = [...hidden];
        while (stack.length) {
          const h = stack.pop()!;
          if (placed.has(h)) continue;
          placed.add(h);
          paths.push(h);
          const hf = files.get(h)!;
          if (hf.dataFile && dataOf.get(hf.dataFile) === h && !placed.has(hf.dataFile)) {
            placed.add(hf.dataFile);
            paths.push(hf.dataFile);
          }
          stack.push(...(kids.get(h) ?? []));
        }
      }
    }
    const broken = nodes.some((n) => n.broken) || paths.some((p) => breaking(files.get(p)!));
    for (const n of nodes) byId.set(n.id, n);
    for (const p of paths) treeOf.set(p, treeId);
    const sig = nodes.map((n) => `${n.id}|${n.kind}|${n.children.length}|${n.data ?? ''}|${n.hidden.length}`).join('\n');
    trees.push({ id: treeId, nodes, paths, broken, orphan: nodes.length === 1 && nodes[0]!.kind === 'orphan', signature: sig });
  };

  const sorted = [...files.keys()].sort();
  for (const p of sorted) {
    const f = files.get(p)!;
    if (placed.has(p) || dataOf.has(p) || parentOf(f)) continue;
    makeTree(p);
  }
  // Whatever is left sits on a loop of backing files: each loop is cut at its first file.
  for (const p of sorted) if (!placed.has(p) && !dataOf.has(p)) makeTree(p);
  // Data files whose image was not placed (it is a data file itself): alone.
  for (const p of sorted) if (!placed.has(p)) makeTree(p);
  return { trees, byId, treeOf, files };
}

/** Every image whose chain goes through `path` (its backing users, theirs, ...; and a data file's image). */
export function usersOf(forest: Forest, path: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(forest.files.get(path)?.usedBy ?? [])];
  while (stack.length) {
    const u = stack.pop()!;
    if (out.has(u) || u === path) continue;
    out.add(u);
    stack.push(...(forest.files.get(u)?.usedBy ?? []));
  }
  return out;
}

/** The trees a filter keeps (those with a matching file) and the files that match. */
export function applyFilter(forest: Forest, f: ForestFilter): { trees: ForestTree[]; matches: Set<string> } {
  if (!filterActive(f)) return { trees: forest.trees, matches: new Set() };
  const matches = new Set<string>();
  const trees: ForestTree[] = [];
  for (const t of forest.trees) {
    let any = false;
    for (const p of t.paths) {
      const file = forest.files.get(p);
      if (file && fileMatches(file, f, t.broken)) {
        matches.add(p);
        any = true;
      }
    }
    if (any) trees.push(t);
  }
  return { trees, matches };
}

/** The problem choices the files offer (for the filter's list). */
export function problemCodes(files: Iterable<ScannedFile>): string[] {
  const codes = new Set<string>();
  for (const f of files) for (const p of f.problems) codes.add(p.code);
  return [...codes].sort();
}
