// A backing loop longer than the short chains the scan's walks are tuned for (markLoops stamps
// entries; summarize switches from a list to a set past 32 files): every file of the loop is
// marked, each once, and the chain above it lists each file once and stops where the loop closes.
// And the listing's early call, by which a scan starts its threads while it still lists.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTree, scan } from '../../electron/node/core/scan.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('scan-long-loop-')));
afterAll(() => cleanup());

const LOOP = 40;

describe('a long backing loop', () => {
  it('marks each of its files once and ends the chain above it where the loop closes', () => {
    const pool = path.join(dir, 'pool');
    fs.mkdirSync(pool);
    const name = (i: number) => `f${String(i).padStart(2, '0')}.qcow2`;
    q(pool, 'create', '-q', '-f', 'qcow2', name(LOOP - 1), '16M');
    for (let i = LOOP - 2; i >= 0; i--) q(pool, 'create', '-q', '-f', 'qcow2', '-b', name(i + 1), '-F', 'qcow2', name(i));
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', name(0), '-F', 'qcow2', 'top.qcow2');
    q(pool, 'rebase', '-u', '-b', name(0), '-F', 'qcow2', name(LOOP - 1));
    const p = (n: string) => path.join(pool, n);

    const r = scan([pool], { workers: 0 });
    for (let i = 0; i < LOOP; i++) {
      const f = r.files.find((x) => x.path === p(name(i)))!;
      expect(f.problems.map((x) => x.code)).toEqual(['loop']);
      // The loop as seen from this file: four names, an ellipsis, and the file again.
      const order = [...Array(4).keys()].map((k) => p(name((i + k) % LOOP)));
      expect(f.problems[0]!.message).toContain(`(${[...order, '…', p(name(i))].join(' → ')})`);
    }
    expect(r.tops).toEqual([p('top.qcow2')]);
    expect(r.chains).toEqual([
      {
        top: p('top.qcow2'),
        files: [p('top.qcow2'), ...[...Array(LOOP).keys()].map((i) => p(name(i)))],
        allocated: expect.any(Number),
        broken: true,
      },
    ]);
    expect(r.summary.problems).toBe(LOOP);
  });
});

describe('the listing', () => {
  it('calls back once, as soon as it holds the given number of files, and not below it', () => {
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'sub'), { recursive: true });
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(tree, i < 3 ? 'sub' : '', `x${i}`), '');
    const counts: number[] = [];
    const seen = (files: number) => {
      const r = listTree([tree], { files, then: () => counts.push(files) });
      expect(r.files).toHaveLength(5);
    };
    seen(5);
    seen(2);
    seen(6);
    expect(counts).toEqual([5, 2]);
  });
});
