// The words and counts forest cards show, on a real scan of qemu-img images: the base is the
// bottom of a chain, a file both using a backing file and used is a middle layer, "used by"
// counts the tops (disks) through a file, a lone raw file is standalone, a loop is a problem.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan } from '../../electron/node/core/scan.js';
import type { ScannedFile } from '../../shared/scan.js';
import { NO_FILTER, applyFilter, buildForest, problemCodes, roleLabel, topUsersOf } from '../../renderer/forest/model.js';
import { qemuImg, tempDir } from '../support/qemu.js';

let dir: string;
let cleanup: () => void;
let files: Map<string, ScannedFile>;
const p = (n: string) => path.join(dir, n);

beforeAll(() => {
  ({ dir, cleanup } = tempDir('forest-roles-'));
  const q = (...a: string[]) => qemuImg(dir, 'create', '-q', '-f', 'qcow2', ...a);
  q('-o', 'data_file=base.raw,data_file_raw=on', 'base.qcow2', '16M');
  q('-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2');
  q('-b', 'mid.qcow2', '-F', 'qcow2', 'upper.qcow2');
  q('-b', 'upper.qcow2', '-F', 'qcow2', 'top1.qcow2');
  q('-b', 'upper.qcow2', '-F', 'qcow2', 'top2.qcow2');
  q('-b', 'mid.qcow2', '-F', 'qcow2', 'top3.qcow2');
  q('-b', 'base.qcow2', '-F', 'qcow2', 'top4.qcow2');
  fs.writeFileSync(p('lonely.raw'), Buffer.alloc(512));
  q('ring-b.qcow2', '16M');
  q('-b', 'ring-b.qcow2', '-F', 'qcow2', 'ring-a.qcow2');
  qemuImg(dir, 'rebase', '-u', '-b', 'ring-a.qcow2', '-F', 'qcow2', 'ring-b.qcow2');
  files = new Map(scan([dir]).files.map((f) => [f.path, f]));
});
afterAll(() => cleanup());

describe('forest wording', () => {
  it('"used by" counts the tops through a file, not its middle layers', () => {
    const tops = topUsersOf(files);
    expect(files.get(p('base.qcow2'))!.usedBy.length).toBe(2); // mid and top4 name it directly
    expect(tops.get(p('base.qcow2'))).toBe(4);
    expect(tops.get(p('base.raw'))).toBe(4);
    expect(tops.get(p('mid.qcow2'))).toBe(3);
    expect(tops.get(p('upper.qcow2'))).toBe(2);
    expect(tops.get(p('top1.qcow2'))).toBeUndefined();
    const f = buildForest(files);
    expect(f.byId.get(p('base.qcow2'))!.topUsers).toBe(4);
    expect(f.byId.get(p('mid.qcow2'))!.topUsers).toBe(3);
    expect(f.byId.get(p('base.raw'))!.topUsers).toBe(4);
  });

  it('base at the bottom, "layer" in the middle, "standalone" for a lone file', () => {
    const f = buildForest(files);
    const label = (n: string) => roleLabel(f.byId.get(p(n))!);
    expect(label('base.qcow2')).toBe('base');
    expect(label('mid.qcow2')).toBe('layer');
    expect(label('upper.qcow2')).toBe('layer');
    expect(label('top1.qcow2')).toBe('top');
    expect(label('base.raw')).toBe('data file');
    expect(label('lonely.raw')).toBe('standalone');
    // The kinds automation reads stay as they were.
    expect(f.byId.get(p('mid.qcow2'))!.kind).toBe('base');
    expect(f.byId.get(p('lonely.raw'))!.kind).toBe('orphan');
    const labels = [...f.byId.values()].map(roleLabel);
    expect(labels).not.toContain('orphan');
  });

  it('a backing loop is a problem the "with a problem" filter finds', () => {
    const f = buildForest(files);
    expect(problemCodes(files.values())).toContain('loop');
    const { matches } = applyFilter(f, { ...NO_FILTER, problem: 'any' });
    expect([...matches].sort()).toEqual([p('ring-a.qcow2'), p('ring-b.qcow2')]);
    const loops = applyFilter(f, { ...NO_FILTER, problem: 'loop' });
    expect([...loops.matches].sort()).toEqual([p('ring-a.qcow2'), p('ring-b.qcow2')]);
    expect(f.byId.get(p('ring-a.qcow2'))!.broken).toBe(true);
  });
});
