// Scanning folders: images found by header, the forest of chains, and the bench pool's shape.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan } from '../../electron/node/core/scan.js';
import { runCli } from '../support/cli.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';
import { makeCorpus } from '../../bench/make-corpus.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('scan-')));
afterAll(() => cleanup());

describe('scan', () => {
  it('finds images by header, links bases, data files, orphans and broken chains', () => {
    const pool = path.join(dir, 'pool');
    const other = path.join(dir, 'elsewhere');
    fs.mkdirSync(path.join(pool, 'sub'), { recursive: true });
    fs.mkdirSync(other);
    q(pool, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=a.raw,data_file_raw=on', 'baseA.qcow2', '64M');
    q(pool, 'create', '-q', '-f', 'qcow2', 'baseB.qcow2', '64M');
    for (const vm of ['vm1.qcow2', 'vm2.qcow2', 'sub/vm3.qcow2']) {
      q(pool, 'create', '-q', '-f', 'qcow2', '-b', vm.startsWith('sub/') ? '../baseA.qcow2' : 'baseA.qcow2', '-F', 'qcow2', vm);
    }
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'baseB.qcow2', '-F', 'qcow2', 'notes.txt'); // an image by header, not name
    q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'gone.qcow2', '-F', 'qcow2', 'broken.qcow2', '64M');
    q(other, 'create', '-q', '-f', 'qcow2', 'outside-base.qcow2', '64M');
    q(pool, 'create', '-q', '-f', 'qcow2', '-b', `${other}/outside-base.qcow2`, '-F', 'qcow2', 'vm-ext.qcow2');
    fs.writeFileSync(path.join(pool, 'fake.qcow2'), 'not an image at all');
    fs.symlinkSync('vm1.qcow2', path.join(pool, 'alias.qcow2'));

    const r = scan([pool]);
    const rel = (ps: string[]) => ps.map((p) => path.relative(dir, p)).sort();
    expect(rel(r.tops)).toEqual([
      'pool/broken.qcow2',
      'pool/notes.txt',
      'pool/sub/vm3.qcow2',
      'pool/vm-ext.qcow2',
      'pool/vm1.qcow2',
      'pool/vm2.qcow2',
    ]);
    expect(rel(r.sharedBases)).toEqual(['pool/baseA.qcow2']);
    expect(rel(r.orphans)).toEqual(['pool/fake.qcow2']);
    expect(r.summary).toMatchObject({ files: 10, tops: 6, sharedBases: 1, dataFiles: 1, orphans: 1, broken: 1 });
    const baseA = r.files.find((f) => f.path === path.join(pool, 'baseA.qcow2'))!;
    expect(rel(baseA.usedBy)).toEqual(['pool/sub/vm3.qcow2', 'pool/vm1.qcow2', 'pool/vm2.qcow2']);
    expect(baseA.dataFile).toBe(path.join(pool, 'a.raw'));
    const ext = r.files.find((f) => f.path === path.join(other, 'outside-base.qcow2'))!;
    expect(ext.external).toBe(true);
    const chain = r.chains.find((c) => c.top === path.join(pool, 'vm1.qcow2'))!;
    expect(rel(chain.files)).toEqual(['pool/a.raw', 'pool/baseA.qcow2', 'pool/vm1.qcow2']);
    const sum = chain.files.reduce((n, p) => n + fs.statSync(p).blocks * 512, 0);
    expect(chain.allocated).toBe(sum);
    expect(r.chains.find((c) => c.top.endsWith('broken.qcow2'))!.broken).toBe(true);
  });

  it('the bench corpus shape (20 bases) has the exact summary, also through the CLI', () => {
    const out = path.join(dir, 'bench');
    makeCorpus(out, { files: 220, deep: false });
    const r = scan([path.join(out, 'pool')]);
    expect(r.summary).toMatchObject({ files: 220, tops: 180, sharedBases: 20, dataFiles: 20, orphans: 0, broken: 0, problems: 0 });
    const cli = runCli(['scan', '--json', path.join(out, 'pool')]);
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout).summary).toEqual(r.summary);
  });
});

describe('ForestIndex.update (what a watcher calls)', () => {
  it('reads only the changed files again and reports exactly the records that changed', async () => {
    const { ForestIndex } = await import('../../electron/node/core/scan.js');
    const pool = path.join(dir, 'watched');
    fs.mkdirSync(pool);
    q(pool, 'create', '-q', '-f', 'qcow2', 'b1.qcow2', '16M');
    q(pool, 'create', '-q', '-f', 'qcow2', 'b2.qcow2', '16M');
    for (const vm of ['v1', 'v2', 'v3']) q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'b1.qcow2', '-F', 'qcow2', `${vm}.qcow2`);
    const index = new ForestIndex([pool]);
    index.scanAll();
    expect(index.reads).toBe(5);
    const p = (n: string) => path.join(pool, n);

    // A rebase: v2 moves from b1 to b2; b1 and b2 change (their users), v1 and v3 do not.
    q(pool, 'rebase', '-u', '-b', 'b2.qcow2', '-F', 'qcow2', 'v2.qcow2');
    let d = index.update([p('v2.qcow2')]);
    expect(d.reread).toEqual([p('v2.qcow2')]);
    expect(d.reads).toBe(1);
    expect(d.upsert.map((f) => f.path).sort()).toEqual([p('b1.qcow2'), p('b2.qcow2'), p('v2.qcow2')]);
    expect(d.upsert.find((f) => f.path === p('b2.qcow2'))!.usedBy).toEqual([p('v2.qcow2')]);

    // A new overlay on a base not there yet: it is missing, then found once the base appears.
    q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'b3.qcow2', '-F', 'qcow2', 'v4.qcow2', '16M');
    d = index.update([p('v4.qcow2')]);
    expect(d.upsert.find((f) => f.path === p('v4.qcow2'))!.problems.map((x) => x.code)).toEqual(['missing']);
    q(pool, 'create', '-q', '-f', 'qcow2', 'b3.qcow2', '16M');
    d = index.update([p('b3.qcow2')]);
    expect(d.reread).toEqual([p('b3.qcow2')]);
    const v4 = d.upsert.find((f) => f.path === p('v4.qcow2'))!;
    expect(v4.backing).toBe(p('b3.qcow2'));
    expect(v4.problems).toEqual([]);

    // A deletion: the file leaves, its base loses a user, nothing is read.
    fs.rmSync(p('v3.qcow2'));
    d = index.update([p('v3.qcow2')]);
    expect(d.remove).toEqual([p('v3.qcow2')]);
    expect(d.reread).toEqual([]);
    expect(d.upsert.map((f) => f.path)).toEqual([p('b1.qcow2')]);
    expect(d.summary).toEqual(scan([pool]).summary);
    expect(
      index
        .result()
        .files.map((f) => f.path)
        .sort(),
    ).toEqual(
      scan([pool])
        .files.map((f) => f.path)
        .sort(),
    );
  });

  it('a folder swapped for a symbolic link is not followed: events under its old name read nothing outside', async () => {
    const { ForestIndex } = await import('../../electron/node/core/scan.js');
    const pool = path.join(dir, 'swapped');
    const outside = path.join(dir, 'elsewhere');
    fs.mkdirSync(path.join(pool, 'a', 'sub'), { recursive: true });
    fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
    q(path.join(pool, 'a', 'sub'), 'create', '-q', '-f', 'qcow2', 'in.qcow2', '1M');
    q(path.join(outside, 'sub'), 'create', '-q', '-f', 'qcow2', 'secret.qcow2', '1M');
    const index = new ForestIndex([pool]);
    index.scanAll();
    const reads = index.reads;
    // Rename a/ away and put a link to the outside folder in its place; inotify still says a/sub.
    fs.renameSync(path.join(pool, 'a'), path.join(pool, 'a.old'));
    fs.symlinkSync(outside, path.join(pool, 'a'));
    const d = index.update([path.join(pool, 'a', 'sub'), path.join(pool, 'a', 'sub', 'secret.qcow2')]);
    expect(index.reads).toBe(reads);
    expect(d.upsert.map((f) => f.path).filter((f) => f.startsWith(outside))).toEqual([]);
    expect(index.result().files.some((f) => f.path.startsWith(outside))).toBe(false);
  });
});
