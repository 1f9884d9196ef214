// The forest model and layout as pure functions, on files a real scan of qemu-img images gives.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan } from '../../electron/node/core/scan.js';
import type { ScannedFile } from '../../shared/scan.js';
import { CARD_H, DATA_H, absoluteBoxes, layoutForest, nearestCard } from '../../renderer/forest/layout.js';
import { FAN_SHOWN, NO_FILTER, applyFilter, buildForest, usersOf } from '../../renderer/forest/model.js';
import { qemuImg, tempDir } from '../support/qemu.js';

let dir: string;
let cleanup: () => void;
let files: Map<string, ScannedFile>;
const p = (n: string) => path.join(dir, n);

beforeAll(() => {
  ({ dir, cleanup } = tempDir('forest-model-'));
  const q = (...a: string[]) => qemuImg(dir, 'create', '-q', '-f', 'qcow2', ...a);
  q('-o', 'data_file=base.raw,data_file_raw=on', 'base.qcow2', '16M');
  for (let i = 0; i < 12; i++) q('-b', 'base.qcow2', '-F', 'qcow2', `vm${String(i).padStart(2, '0')}.qcow2`);
  q('-b', 'vm00.qcow2', '-F', 'qcow2', 'snap.qcow2'); // a user of a user
  q('-u', '-b', 'gone.qcow2', '-F', 'qcow2', 'broken.qcow2', '16M');
  fs.writeFileSync(p('lonely.raw'), Buffer.alloc(512));
  files = new Map(scan([dir]).files.map((f) => [f.path, f]));
});
afterAll(() => cleanup());

describe('buildForest', () => {
  it('one tree per base, data file under its image, broken chain under a missing node, orphan alone', () => {
    const f = buildForest(files);
    expect(f.trees.map((t) => t.id).sort()).toEqual([p('base.qcow2'), p('lonely.raw'), `missing:${p('broken.qcow2')}`].sort());
    const base = f.byId.get(p('base.qcow2'))!;
    expect(base.kind).toBe('base');
    expect(base.data).toBe(p('base.raw'));
    expect(f.byId.get(p('base.raw'))!.kind).toBe('data');
    expect(f.byId.get(p('lonely.raw'))!.kind).toBe('orphan');
    expect(f.trees.find((t) => t.id.startsWith('missing:'))!.broken).toBe(true);
    // 12 users: FAN_SHOWN drawn, the rest behind "+k more"; every file still belongs to the tree.
    const tree = f.trees.find((t) => t.id === p('base.qcow2'))!;
    expect(base.children.length).toBe(FAN_SHOWN + 1);
    expect(f.byId.get(`more:${p('base.qcow2')}`)!.hidden.length).toBe(12 - FAN_SHOWN);
    expect(tree.paths.length).toBe(15); // base, its data file, 12 overlays, snap
    // Allocated bytes along a chain: snap + vm00 + base + base.raw.
    const alloc = (n: string) => files.get(p(n))!.allocated!;
    expect(f.byId.get(p('snap.qcow2'))!.chainAllocated).toBe(
      alloc('snap.qcow2') + alloc('vm00.qcow2') + alloc('base.qcow2') + alloc('base.raw'),
    );
    expect(f.byId.get(p('snap.qcow2'))!.top).toBe(true);
  });

  it('expanding a fan shows every user; a filter match inside a collapsed fan is pulled out', () => {
    const all = buildForest(files, new Set([p('base.qcow2')]));
    expect(all.byId.get(p('base.qcow2'))!.children.length).toBe(12);
    expect(all.byId.has(`more:${p('base.qcow2')}`)).toBe(false);
    const revealed = buildForest(files, new Set(), new Set([p('vm11.qcow2')]));
    expect(revealed.byId.has(p('vm11.qcow2'))).toBe(true);
    expect(revealed.byId.get(`more:${p('base.qcow2')}`)!.hidden.length).toBe(12 - FAN_SHOWN - 1);
  });

  it('users of a base are every image whose chain goes through it', () => {
    const f = buildForest(files);
    const users = usersOf(f, p('base.qcow2'));
    expect(users.size).toBe(13);
    expect(users.has(p('snap.qcow2'))).toBe(true);
    expect([...usersOf(f, p('vm00.qcow2'))]).toEqual([p('snap.qcow2')]);
    expect([...usersOf(f, p('base.raw'))]).toContain(p('snap.qcow2'));
  });

  it('filters keep the trees holding a match', () => {
    const f = buildForest(files);
    expect(applyFilter(f, { ...NO_FILTER, name: 'snap' }).trees.map((t) => t.id)).toEqual([p('base.qcow2')]);
    expect(applyFilter(f, { ...NO_FILTER, problem: 'missing' }).matches).toEqual(new Set([p('broken.qcow2')]));
    expect(applyFilter(f, { ...NO_FILTER, problem: 'orphan' }).matches).toEqual(new Set([p('lonely.raw')]));
    expect(applyFilter(f, { ...NO_FILTER, owner: '(0:0)' }).trees.length).toBe(3);
    expect(applyFilter(f, { ...NO_FILTER, context: 'svirt' }).trees.length).toBe(0);
  });
});

describe('layoutForest', () => {
  it('no two cards overlap; users right of their base; data under its image', () => {
    const f = buildForest(files, new Set([p('base.qcow2')]));
    const l = layoutForest(f.trees);
    const boxes = l.packed.flatMap((t) =>
      [...t.layout.boxes].map(([id, b]) => ({ id, x: t.x + b.x, y: t.y + b.y, w: b.width, h: b.height })),
    );
    expect(boxes.length).toBe(f.byId.size);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
    const at = (id: string) => boxes.find((b) => b.id === id)!;
    expect(at(p('vm05.qcow2')).x).toBeGreaterThan(at(p('base.qcow2')).x);
    expect(at(p('snap.qcow2')).x).toBeGreaterThan(at(p('vm00.qcow2')).x);
    expect(at(p('base.raw')).x).toBe(at(p('base.qcow2')).x);
    expect(at(p('base.raw')).y).toBeGreaterThanOrEqual(at(p('base.qcow2')).y + CARD_H);
    expect(at(p('base.raw')).h).toBe(DATA_H);
  });

  it('arrow keys walk the drawn cards: right from a base to a user, down the fan, left back, never to a "+k more" card', () => {
    const f = buildForest(files, new Set([p('base.qcow2')]));
    const boxes = absoluteBoxes(layoutForest(f.trees));
    const isFile = (id: string) => files.has(id);
    const right = nearestCard(boxes, isFile, p('base.qcow2'), 'ArrowRight')!;
    expect(right).toMatch(/vm\d\d\.qcow2$/);
    const down = nearestCard(boxes, isFile, right, 'ArrowDown')!;
    expect(boxes.get(down)!.y).toBeGreaterThan(boxes.get(right)!.y);
    expect(nearestCard(boxes, isFile, right, 'ArrowLeft')).toBe(p('base.qcow2'));
    // The collapsed forest has "+k more" cards; they are never stepped on.
    const collapsed = absoluteBoxes(layoutForest(buildForest(files).trees));
    let at: string | null = p('base.qcow2');
    const seen: string[] = [];
    for (let i = 0; i < 20 && at; i++) {
      seen.push(at);
      at = nearestCard(collapsed, isFile, at, 'ArrowDown');
    }
    expect(seen.every(isFile)).toBe(true);
    expect(nearestCard(boxes, isFile, null, 'ArrowDown')).not.toBeNull();
  });

  it('lays out again only the trees whose signature changed', () => {
    const cache = new Map();
    const f1 = buildForest(files);
    expect(layoutForest(f1.trees, cache).laidOut).toBe(3);
    expect(layoutForest(buildForest(files).trees, cache).laidOut).toBe(0);
    expect(layoutForest(buildForest(files, new Set([p('base.qcow2')])).trees, cache).laidOut).toBe(1);
  });

  it('lays out the 1,000 trees of an 11,000-file pool fast (model and layout, no file read)', () => {
    const big = new Map<string, ScannedFile>();
    const f = (path: string, over: Partial<ScannedFile>): ScannedFile => ({
      path,
      format: 'qcow2',
      external: false,
      isImage: true,
      virtualSize: 1,
      size: 1,
      allocated: 1,
      owner: null,
      selinux: null,
      remembered: { dac: null, selinux: null },
      backing: null,
      dataFile: null,
      usedBy: [],
      problems: [],
      ...over,
    });
    for (let i = 0; i < 1000; i++) {
      const b = `/p/base${i}.qcow2`;
      const users = [...Array(9).keys()].map((j) => `/p/vm${i}-${j}.qcow2`);
      big.set(b, f(b, { dataFile: `/p/base${i}.raw`, usedBy: users }));
      big.set(`/p/base${i}.raw`, f(`/p/base${i}.raw`, { isImage: false, format: 'raw', usedBy: [b] }));
      for (const u of users) big.set(u, f(u, { backing: b }));
    }
    const t0 = performance.now();
    const forest = buildForest(big);
    const l = layoutForest(forest.trees);
    const ms = performance.now() - t0;
    expect(forest.trees.length).toBe(1000);
    expect(forest.byId.size).toBe(8000);
    expect(l.packed.length).toBe(1000);
    expect(ms).toBeLessThan(2000); // a loose bound for a loaded CI box; the bench prints the real time
  });
});
