// A backing loop made by qemu-img (a backed by b, b rebased onto a): qemu opens neither, so the
// scan marks every file of the loop with a `loop` problem, the text output lists them by name,
// and a watcher's update adds and removes the problem as the loop is made and broken.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForestIndex, scan } from '../../electron/node/core/scan.js';
import { runCli } from '../support/cli.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('scan-loop-')));
afterAll(() => cleanup());

const codes = (r: { files: { path: string; problems: { code: string }[] }[] }, p: string) =>
  r.files.find((f) => f.path === p)!.problems.map((x) => x.code);

describe('a backing loop', () => {
  it('is a problem of each of its files, in scan() and in `diskchain scan`', () => {
    const pool = path.join(dir, 'pool');
    fs.mkdirSync(pool);
    q(pool, 'create', '-q', '-f', 'qcow2', 'b.qcow2', '16M');
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'b.qcow2', '-F', 'qcow2', 'a.qcow2');
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'a.qcow2', '-F', 'qcow2', 'top.qcow2');
    q(pool, 'create', '-q', '-f', 'qcow2', 'fine.qcow2', '16M');
    q(pool, 'rebase', '-u', '-b', 'a.qcow2', '-F', 'qcow2', 'b.qcow2');
    const p = (n: string) => path.join(pool, n);

    const r = scan([pool]);
    expect(codes(r, p('a.qcow2'))).toEqual(['loop']);
    expect(codes(r, p('b.qcow2'))).toEqual(['loop']);
    // Above the loop, not on it: its chain is broken through the loop, the file itself is fine.
    expect(codes(r, p('top.qcow2'))).toEqual([]);
    expect(codes(r, p('fine.qcow2'))).toEqual([]);
    expect(r.files.find((f) => f.path === p('a.qcow2'))!.problems[0]!.message).toContain(
      `${p('a.qcow2')} → ${p('b.qcow2')} → ${p('a.qcow2')}`,
    );
    expect(r.chains.find((c) => c.top === p('top.qcow2'))!.broken).toBe(true);
    expect(r.summary.problems).toBe(2);

    const cli = runCli(['scan', pool]);
    expect(cli.status).toBe(0);
    const lines = cli.stdout.split('\n');
    const listed = lines.indexOf('files with problems:');
    expect(listed).toBeGreaterThan(0);
    const after = lines.slice(listed + 1);
    for (const n of ['a.qcow2', 'b.qcow2']) {
      const at = after.indexOf(`    ${p(n)}`);
      expect(at, n).toBeGreaterThanOrEqual(0);
      expect(after[at + 1]).toMatch(/^ {6}! loop: the backing files of .* lead back to it/);
    }
    expect(after.some((l) => l.includes('fine.qcow2'))).toBe(false);
  });

  it('names escaped in the text listing', () => {
    const pool = path.join(dir, 'odd');
    fs.mkdirSync(pool);
    const odd = 'x\nfake.qcow2';
    q(pool, 'create', '-q', '-f', 'qcow2', 'y.qcow2', '1M');
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'y.qcow2', '-F', 'qcow2', odd);
    q(pool, 'rebase', '-u', '-b', odd, '-F', 'qcow2', 'y.qcow2');
    const cli = runCli(['scan', pool]);
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain(`    ${pool}/x\\x0afake.qcow2\n`);
    expect(cli.stdout.split('\n').some((l) => l === 'fake.qcow2')).toBe(false);
  });

  it('a watcher update marks every file when a loop closes, and clears them when it opens', () => {
    const pool = path.join(dir, 'watched');
    fs.mkdirSync(pool);
    q(pool, 'create', '-q', '-f', 'qcow2', 'c.qcow2', '16M');
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'c.qcow2', '-F', 'qcow2', 'b.qcow2');
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'b.qcow2', '-F', 'qcow2', 'a.qcow2');
    const p = (n: string) => path.join(pool, n);
    const index = new ForestIndex([pool]);
    index.scanAll();
    expect(index.result().summary.problems).toBe(0);

    q(pool, 'rebase', '-u', '-b', 'a.qcow2', '-F', 'qcow2', 'c.qcow2');
    let d = index.update([p('c.qcow2')]);
    expect(d.reread).toEqual([p('c.qcow2')]);
    const up = new Map(d.upsert.map((f) => [f.path, f.problems.map((x) => x.code)]));
    // a names only b, which did not change: a's record changes all the same.
    for (const n of ['a.qcow2', 'b.qcow2', 'c.qcow2']) expect(up.get(p(n)), n).toEqual(['loop']);
    expect(index.result()).toEqual(scan([pool]));

    q(pool, 'rebase', '-u', '-b', '', 'c.qcow2');
    d = index.update([p('c.qcow2')]);
    for (const n of ['a.qcow2', 'b.qcow2', 'c.qcow2']) expect(d.upsert.find((f) => f.path === p(n))?.problems, n).toEqual([]);
    expect(index.result().summary.problems).toBe(0);
  });
});
