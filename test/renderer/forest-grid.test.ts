// Culling the forest to the screen (forest/grid.ts) and cutting a scan into batches of whole
// trees (session/forest-batches.ts), on a synthetic pool of thousands of records: each is checked
// against the plain answer (every node looked at; every link followed).
import { describe, expect, it } from 'vitest';
import { treeBatches } from '../../electron/node/session/forest-batches.js';
import { meets, nodesIn, treeGrid, treesIn } from '../../renderer/forest/grid.js';
import { absoluteBoxes, layoutForest, type Rect } from '../../renderer/forest/layout.js';
import { buildForest } from '../../renderer/forest/model.js';
import type { ScannedFile } from '../../shared/scan.js';
import { record } from './forest-record.js';

/** `bases` bases, each with a data file and `users` overlays, one overlay with a user of its own. */
function pool(bases: number, users: number): Map<string, ScannedFile> {
  const files = new Map<string, ScannedFile>();
  const add = (f: ScannedFile) => files.set(f.path, f);
  for (let b = 0; b < bases; b++) {
    const base = `/p/b${b}.qcow2`;
    add(record(base, null, `/p/b${b}.raw`));
    add(record(`/p/b${b}.raw`));
    for (let u = 0; u < users; u++) add(record(`/p/b${b}-u${u}.qcow2`, base));
    add(record(`/p/b${b}-u0-s.qcow2`, `/p/b${b}-u0.qcow2`));
  }
  for (const f of files.values()) for (const t of [f.backing, f.dataFile]) if (t) files.get(t)!.usedBy.push(f.path);
  return files;
}

describe('the grid of tree boxes', () => {
  const files = pool(1500, 3);
  const layout = layoutForest(buildForest(files).trees);
  const boxes = absoluteBoxes(layout);
  const grid = treeGrid(layout);

  it('finds exactly the cards a screen meets, and both ends of every line crossing it', () => {
    const screens: Rect[] = [
      { x: 0, y: 0, width: 1600, height: 1000 },
      { x: layout.width / 2, y: layout.height / 3, width: 2000 / 0.8, height: 1250 },
      { x: 1024 * 3 - 7, y: 1024 * 5 + 3, width: 333, height: 5000 },
      { x: -5000, y: -5000, width: 100, height: 100 },
    ];
    for (const r of screens) {
      const got = new Set(nodesIn(grid, r).map((x) => x.n.id));
      const want = new Set<string>();
      for (const p of layout.packed) {
        for (const n of p.tree.nodes) {
          const b = boxes.get(n.id)!;
          if (meets(b, r)) want.add(n.id);
          const pb = n.parent ? boxes.get(n.parent)! : null;
          if (!pb) continue;
          const x = Math.min(b.x, pb.x);
          const y = Math.min(b.y, pb.y);
          const span = {
            x,
            y,
            width: Math.max(b.x + b.width, pb.x + pb.width) - x,
            height: Math.max(b.y + b.height, pb.y + pb.height) - y,
          };
          if (meets(span, r)) want.add(n.id).add(n.parent!);
        }
      }
      expect(got).toEqual(want);
      for (const x of nodesIn(grid, r)) expect(x.box).toEqual(boxes.get(x.n.id));
    }
  });

  it('looks at the trees near the screen only, not the whole forest', () => {
    const r = { x: layout.width / 2, y: layout.height / 2, width: 2000, height: 1250 };
    const trees = treesIn(grid, r);
    expect(trees.length).toBeGreaterThan(0);
    expect(trees.length).toBeLessThan(layout.packed.length / 20);
    expect(nodesIn(grid, r).length).toBeLessThan(boxes.size / 20);
  });
});

describe('batches of whole trees', () => {
  it('sends every file once, each with its backing file and data file, in batches about the size asked', () => {
    const files = [...pool(400, 9).values()];
    const batches = treeBatches(files, 500);
    expect(
      batches
        .flat()
        .map((f) => f.path)
        .sort(),
    ).toEqual(files.map((f) => f.path).sort());
    expect(batches.length).toBeGreaterThan(5);
    for (const b of batches) {
      const here = new Set(b.map((f) => f.path));
      for (const f of b) for (const t of [f.backing, f.dataFile]) if (t) expect(here.has(t)).toBe(true);
      expect(b.length).toBeLessThan(500 + 15);
    }
  });

  it('keeps a chain longer than a batch whole (a batch is cut only between trees)', () => {
    const chain = [record('/c/0.qcow2')];
    for (let i = 1; i < 3000; i++) chain.push(record(`/c/${i}.qcow2`, `/c/${i - 1}.qcow2`));
    const batches = treeBatches([...chain].reverse(), 100);
    expect(batches.map((b) => b.length)).toEqual([3000]);
  });
});
