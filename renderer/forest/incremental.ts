// The forest kept up to date file by file: a scan's batches, a host's files and the watcher's
// deltas re-derive only the trees they touch (and the trees linked to those), never the whole
// forest. A tree is a connected part of the backing/data-file graph, so rebuilding the closure of
// the changed files under those links (model.ts's buildForest on that subset) gives the same trees
// as a build of everything would.
import type { ScannedFile } from '../../shared/scan.js';
import { splitRemoteId } from '../../shared/ipc.js';
import { buildForest, type Forest, type ForestNode, type ForestTree } from './model.js';

const hostOf = (treeId: string) => splitRemoteId(treeId.startsWith('missing:') ? treeId.slice(8) : treeId)?.host ?? '';

export class ForestIndex {
  readonly files = new Map<string, ScannedFile>();
  private readonly byId = new Map<string, ForestNode>();
  private readonly treeOf = new Map<string, string>();
  /** Trees by host ('' for local files), each in the order they were (re)built. */
  private readonly trees = new Map<string, Map<string, ForestTree>>();
  /** Path → the files naming it as their backing or data file (the links no record lists upward). */
  private readonly refs = new Map<string, Set<string>>();
  /** Files the last update rebuilt trees for (the cost of the update), and those trees. */
  rebuilt = 0;
  built: readonly ForestTree[] = [];
  /** Files in the trees (what the forest shows unfiltered), kept as trees come and go. */
  shownFiles = 0;

  constructor(
    readonly expanded: ReadonlySet<string> = new Set(),
    private readonly reveal: ReadonlySet<string> = new Set(),
  ) {}

  /** How many files have each problem code (the filter offers those there are). */
  private readonly problemCount = new Map<string, number>();

  /** The problem codes the files have, sorted. */
  codes(): string[] {
    return [...this.problemCount.keys()].sort();
  }

  private link(f: ScannedFile, add: boolean): void {
    for (const code of new Set(f.problems.map((p) => p.code))) {
      const n = (this.problemCount.get(code) ?? 0) + (add ? 1 : -1);
      if (n > 0) this.problemCount.set(code, n);
      else this.problemCount.delete(code);
    }
    for (const t of [f.backing, f.dataFile]) {
      if (!t || t === f.path) continue;
      const s = this.refs.get(t);
      if (add) (s ?? this.refs.set(t, new Set()).get(t)!).add(f.path);
      else if (s) {
        s.delete(f.path);
        if (!s.size) this.refs.delete(t);
      }
    }
  }

  /** Put files in (new or changed records) and take paths out; rebuild the trees they touch. */
  update(upsert: Iterable<ScannedFile>, remove: Iterable<string> = []): void {
    const todo: string[] = [];
    const seen = new Set<string>();
    const touch = (p: string | null) => {
      if (p && !seen.has(p)) {
        seen.add(p);
        todo.push(p);
      }
    };
    const touchLinks = (f: ScannedFile) => {
      touch(f.path);
      touch(f.backing);
      touch(f.dataFile);
      for (const u of f.usedBy) touch(u);
    };
    for (const p of remove) {
      const old = this.files.get(p);
      if (!old) continue;
      this.link(old, false);
      this.files.delete(p);
      touchLinks(old);
    }
    for (const f of upsert) {
      const old = this.files.get(f.path);
      if (old) {
        this.link(old, false);
        touchLinks(old);
      }
      this.files.set(f.path, f);
      this.link(f, true);
      touchLinks(f);
    }
    // The closure under links, a worklist bounded by the number of files.
    const stale = new Set<string>();
    while (todo.length) {
      const p = todo.pop()!;
      const t = this.treeOf.get(p);
      if (t !== undefined && !stale.has(t)) {
        stale.add(t);
        for (const q of this.tree(t)?.paths ?? []) touch(q);
      }
      const f = this.files.get(p);
      if (f) touchLinks(f);
      for (const r of this.refs.get(p) ?? []) touch(r);
    }
    for (const t of stale) this.drop(t);
    const sub = new Map<string, ScannedFile>();
    for (const p of seen) {
      const f = this.files.get(p);
      if (f) sub.set(p, f);
    }
    this.rebuilt = sub.size;
    const built = buildForest(sub, this.expanded, this.reveal);
    this.built = built.trees;
    // A tree rebuilt under its old id keeps its place in the order (so it keeps its place on screen).
    for (const t of built.trees) {
      this.shownFiles += t.paths.length;
      const host = hostOf(t.id);
      (this.trees.get(host) ?? this.trees.set(host, new Map()).get(host)!).set(t.id, t);
      stale.delete(t.id);
    }
    for (const id of stale) this.trees.get(hostOf(id))?.delete(id);
    for (const [k, v] of built.byId) this.byId.set(k, v);
    for (const [k, v] of built.treeOf) this.treeOf.set(k, v);
  }

  private tree(id: string): ForestTree | undefined {
    return this.trees.get(hostOf(id))?.get(id);
  }

  /** Forget a tree's nodes and paths (its slot in the order stays until the update ends). */
  private drop(id: string): void {
    const t = this.tree(id);
    if (!t) return;
    this.shownFiles -= t.paths.length;
    for (const n of t.nodes) this.byId.delete(n.id);
    for (const p of t.paths) if (this.treeOf.get(p) === id) this.treeOf.delete(p);
  }

  /** The forest as it stands: local trees first, then each host's (hosts in order of their ids). */
  forest(): Forest {
    const trees: ForestTree[] = [];
    for (const host of [...this.trees.keys()].sort()) for (const t of this.trees.get(host)!.values()) trees.push(t);
    return { trees, byId: this.byId, treeOf: this.treeOf, files: this.files };
  }
}
