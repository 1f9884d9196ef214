// A scan's files cut into batches of whole trees, for `forest-batch` events: a file, its backing
// file and its data file always travel together, so each batch the renderer draws is right as it
// stands. The trees are found with a union-find over those links (iterative, no recursion).
import type { ScannedFile } from '../../../shared/scan.js';

/** About this many files per batch: small enough to draw in a frame or two, few enough to add up. */
export const BATCH_FILES = 2000;

export function treeBatches(files: readonly ScannedFile[], size = BATCH_FILES): ScannedFile[][] {
  const index = new Map<string, number>();
  files.forEach((f, i) => index.set(f.path, i));
  const up = files.map((_, i) => i);
  const find = (i: number): number => {
    let r = i;
    while (up[r] !== r) r = up[r]!;
    while (up[i] !== r) [i, up[i]] = [up[i]!, r];
    return r;
  };
  const join = (i: number, path: string | null) => {
    const j = path === null ? undefined : index.get(path);
    if (j === undefined) return;
    const a = find(i);
    const b = find(j);
    if (a !== b) up[Math.max(a, b)] = Math.min(a, b);
  };
  files.forEach((f, i) => {
    join(i, f.backing);
    join(i, f.dataFile);
  });
  const trees = new Map<number, ScannedFile[]>();
  files.forEach((f, i) => {
    const r = find(i);
    const t = trees.get(r);
    if (t) t.push(f);
    else trees.set(r, [f]);
  });
  const out: ScannedFile[][] = [];
  let cur: ScannedFile[] = [];
  for (const t of trees.values()) {
    for (const f of t) cur.push(f);
    if (cur.length >= size) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}
