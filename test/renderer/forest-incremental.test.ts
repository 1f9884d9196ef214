// The forest kept up to date tree by tree (forest/incremental.ts): whatever order files arrive in
// (batches, records sent again with more users, deltas taking files out), the trees are those a
// build of every file gives, and an update rebuilds only the trees it touches.
import { describe, expect, it } from 'vitest';
import { ForestIndex } from '../../renderer/forest/incremental.js';
import { PackedBoxes, absoluteBoxes, layoutForest } from '../../renderer/forest/layout.js';
import { buildForest, problemCodes, type Forest } from '../../renderer/forest/model.js';
import { remoteId } from '../../shared/ipc.js';
import type { ScannedFile } from '../../shared/scan.js';
import { record } from './forest-record.js';

/** Bases with a data file and fans of users (some past the fan limit), a data file two images name, a loop, strays. */
function pool(): ScannedFile[] {
  const out: ScannedFile[] = [];
  for (let b = 0; b < 40; b++) {
    out.push(record(`/p/b${b}.qcow2`, null, b % 3 ? null : `/p/b${b}.raw`));
    if (b % 3 === 0) out.push(record(`/p/b${b}.raw`));
    for (let u = 0; u < (b % 5) * 3; u++) out.push(record(`/p/b${b}-u${u}.qcow2`, `/p/b${b}.qcow2`));
    out.push(record(`/p/b${b}-u0-s.qcow2`, (b % 5 ? `/p/b${b}-u0.qcow2` : `/p/gone${b}.qcow2`) as string));
  }
  out.push(record('/p/x.qcow2', null, '/p/shared.raw'), record('/p/y.qcow2', null, '/p/shared.raw'), record('/p/shared.raw'));
  out.push(record('/p/loop-a.qcow2', '/p/loop-b.qcow2'), record('/p/loop-b.qcow2', '/p/loop-a.qcow2'));
  for (let i = 0; i < 10; i++) out.push(record(`/p/stray${i}.iso`));
  const byPath = new Map(out.map((f) => [f.path, f]));
  for (const f of out) if (f.backing && byPath.has(f.backing)) byPath.get(f.backing)!.usedBy.push(f.path);
  for (const f of out) if (f.problems.length === 0 && f.backing?.includes('gone')) f.problems.push({ code: 'missing' } as never);
  return out;
}

/** The forest as comparable facts: each tree's signature and paths, each file's tree. */
function facts(f: Forest) {
  return {
    trees: new Map(f.trees.map((t) => [t.id, { sig: t.signature, paths: [...t.paths].sort() }])),
    treeOf: new Map([...f.treeOf].sort()),
    nodes: [...f.byId.keys()].sort(),
  };
}

/** A seeded shuffle (the same every run). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('the forest kept up to date tree by tree', () => {
  const files = pool();
  const whole = buildForest(new Map(files.map((f) => [f.path, f])));

  it('gives the trees a whole build gives, whatever order and batches the files come in', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const index = new ForestIndex();
      const order = shuffled(files, seed);
      for (let i = 0; i < order.length; i += 7) {
        // Early records come without the users not sent yet, then again with them (as scan/early.ts sends).
        const batch = order.slice(i, i + 7);
        const sent = new Set(order.slice(0, i + 7).map((f) => f.path));
        index.update(batch.map((f) => ({ ...f, usedBy: f.usedBy.filter((u) => sent.has(u)) })));
        const grown = order.slice(0, i).filter((f) => f.usedBy.some((u) => batch.some((b) => b.path === u)));
        index.update(grown.map((f) => ({ ...f, usedBy: f.usedBy.filter((u) => sent.has(u)) })));
      }
      expect(facts(index.forest())).toEqual(facts(whole));
      expect(index.shownFiles).toBe(whole.trees.reduce((n, t) => n + t.paths.length, 0));
    }
  });

  it('takes files out (a delta) as a build without them would have them', () => {
    const index = new ForestIndex();
    index.update(files);
    const remove = ['/p/b0.qcow2', '/p/shared.raw', '/p/loop-a.qcow2', '/p/b4-u2.qcow2'];
    index.update([], remove);
    const rest = new Map(files.filter((f) => !remove.includes(f.path)).map((f) => [f.path, f]));
    expect(facts(index.forest())).toEqual(facts(buildForest(rest)));
    expect(index.shownFiles).toBe(buildForest(rest).trees.reduce((n, t) => n + t.paths.length, 0));
    expect(index.codes()).toEqual(problemCodes(rest.values()));
    index.update(
      [],
      [
        '/p/b5-u0-s.qcow2',
        '/p/b10-u0-s.qcow2',
        '/p/b15-u0-s.qcow2',
        '/p/b20-u0-s.qcow2',
        '/p/b25-u0-s.qcow2',
        '/p/b30-u0-s.qcow2',
        '/p/b35-u0-s.qcow2',
        '/p/b0-u0-s.qcow2',
      ],
    );
    expect(index.codes()).toEqual([]);
  });

  it('rebuilds only the trees an update touches', () => {
    const index = new ForestIndex();
    index.update(files);
    expect(index.rebuilt).toBe(files.length);
    const tree = whole.trees.find((t) => t.id === '/p/b7.qcow2')!;
    const base = files.find((f) => f.path === '/p/b7.qcow2')!;
    const place = index.forest().trees.findIndex((t) => t.id === tree.id);
    index.update([record('/p/b7-new.qcow2', '/p/b7.qcow2'), { ...base, usedBy: [...base.usedBy, '/p/b7-new.qcow2'] }]);
    expect(index.rebuilt).toBe(tree.paths.length + 1);
    expect(index.forest().byId.get('/p/b7-new.qcow2')?.parent).toBe('/p/b7.qcow2');
    // The rebuilt tree keeps its place: it stays where it was on screen.
    expect(index.forest().trees.findIndex((t) => t.id === tree.id)).toBe(place);
  });

  it('packs trees added later after those drawn already, leaving these where they were', () => {
    const index = new ForestIndex();
    const part = Math.floor(files.length * 0.6);
    index.update(files.slice(0, part));
    const first = layoutForest(index.forest().trees);
    index.update(files.slice(part));
    const trees = index.forest().trees;
    const next = layoutForest(trees, new Map(), undefined, first);
    let same = 0;
    while (first.packed[same]?.tree === trees[same]) same++;
    const kept = first.packed.slice(0, same);
    expect(kept.length).toBeGreaterThan(0);
    for (const [i, p] of kept.entries()) expect(next.packed[i]).toEqual(p);
    expect(next.packed.map((p) => p.tree)).toEqual(trees);
    // No two trees overlap.
    const boxes = next.packed.map((p) => ({ x: p.x, y: p.y, w: p.layout.width, h: p.layout.height }));
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        expect(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h).toBe(false);
      }
  });

  it('finds each shown box where the whole map of boxes has it', () => {
    const layout = layoutForest(whole.trees);
    const lazy = new PackedBoxes(layout, whole.treeOf);
    const all = absoluteBoxes(layout);
    expect(lazy.size).toBe(all.size);
    for (const [id, b] of all) expect(lazy.get(id)).toEqual(b);
    expect(new Map(lazy)).toEqual(all);
    expect(lazy.get('/p/nowhere')).toBeUndefined();
  });
});

describe('hosts streaming into the forest, one band at a time', () => {
  const HOSTS = ['h1', 'h2', 'h3', 'h4'].map((h) => `root@${h}:22`);
  /** Host `h`'s bases `from`..`to`, each with `b % 4` users: ids `host:path`. */
  const band = (h: string, from: number, to: number): ScannedFile[] => {
    const out: ScannedFile[] = [];
    for (let b = from; b < to; b++) {
      const base = record(remoteId(h, `/p/b${b}.qcow2`));
      out.push(base);
      for (let u = 0; u < b % 4; u++) {
        const user = record(remoteId(h, `/p/b${b}-u${u}.qcow2`), base.path);
        base.usedBy.push(user.path);
        out.push(user);
      }
    }
    return out;
  };

  /** The packing rule, plainly: rows of `rowWidth`, each host's trees starting a row of their own. */
  function plainPacking(l: ReturnType<typeof layoutForest>) {
    let x = 0;
    let y = 0;
    let rowH = 0;
    let host: string | undefined;
    return l.packed.map((p, i) => {
      const h = p.tree.id.slice(0, p.tree.id.indexOf(':'));
      if (x > 0 && ((i > 0 && h !== host) || x + p.layout.width > l.rowWidth)) {
        y += rowH + 64;
        x = 0;
        rowH = 0;
      }
      host = h;
      const at = { id: p.tree.id, x, y };
      x += p.layout.width + 80;
      rowH = Math.max(rowH, p.layout.height);
      return at;
    });
  }

  it('moves the bands after a growing host whole, where a packing from scratch at that width puts them', () => {
    const index = new ForestIndex();
    for (const h of HOSTS) index.update(band(h, 0, 120));
    let layout = layoutForest(index.forest().trees);
    for (const [round, h] of [HOSTS[1]!, HOSTS[0]!, HOSTS[2]!, HOSTS[1]!].entries()) {
      const before = layout;
      index.update(band(h, 120 + round * 40, 160 + round * 40));
      const trees = index.forest().trees;
      layout = layoutForest(trees, new Map(), undefined, before);
      expect(layout.packed.map((p) => p.tree)).toEqual(trees);
      expect(layout.packed.map((p) => ({ id: p.tree.id, x: p.x, y: p.y }))).toEqual(plainPacking(layout));
      // The bands after the grown one kept their shape, only lower.
      const after = HOSTS.slice(HOSTS.indexOf(h) + 1);
      const was = before.packed.filter((p) => after.some((a) => p.tree.id.startsWith(`${a}:`)));
      const now = layout.packed.filter((p) => after.some((a) => p.tree.id.startsWith(`${a}:`)));
      expect(now.map((p) => p.tree)).toEqual(was.map((p) => p.tree));
      const dy = (now[0]?.y ?? 0) - (was[0]?.y ?? 0);
      if (after.length) expect(dy).toBeGreaterThan(0);
      now.forEach((p, i) => expect({ x: p.x, y: p.y }).toEqual({ x: was[i]!.x, y: was[i]!.y + dy }));
      expect(layout.height).toBe(Math.max(...layout.packed.map((p) => p.y + p.layout.height)));
      expect(layout.width).toBe(Math.max(...layout.packed.map((p) => p.x + p.layout.width)));
    }
  });
});
