// Scans read on worker threads, streamed in batches, and `scan --json` written in pieces: each
// must give exactly what one whole in-thread scan gives.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scan, ScanCancelled, scanStream, type ScanBatch } from '../../electron/node/core/scan.js';
import type { ScannedFile } from '../../shared/scan.js';
import { scanJsonPieces } from '../../electron/node/cli/scan.js';
import { diskchain } from '../support/bin.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';
import { makeCorpus } from '../../bench/make-corpus.js';

let dir: string;
let cleanup: () => void;
let mixed: string;
let bench: string;

/** A pool with every kind of reference: shared bases, data files, links, loops, missing and network names, outside files. */
function mixedPool(root: string): string {
  const pool = path.join(root, 'mixed');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(path.join(pool, 'sub'), { recursive: true });
  fs.mkdirSync(outside);
  q(outside, 'create', '-q', '-f', 'qcow2', 'ext.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'o1.qcow2');
  q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', '../base.qcow2', '-F', 'qcow2', 'sub/o2.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'missing.qcow2', '-F', 'qcow2', 'miss.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-b', `${outside}/ext.qcow2`, '-F', 'qcow2', 'useext.qcow2');
  q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'l2.qcow2', '-F', 'qcow2', 'l1.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'l1.qcow2', '-F', 'qcow2', 'l2.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'df.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'nbd://x/y', '-F', 'raw', 'net.qcow2', '16M');
  q(pool, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'alias.qcow2', '-F', 'qcow2', 'vialink.qcow2', '16M');
  fs.writeFileSync(path.join(pool, 'orphan.raw'), 'hello');
  fs.writeFileSync(path.join(pool, 'bad.qcow2'), Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.alloc(100)]));
  fs.symlinkSync('o1.qcow2', path.join(pool, 'alias.qcow2'));
  return pool;
}

beforeAll(() => {
  ({ dir, cleanup } = tempDir('scan-stream-'));
  mixed = mixedPool(dir);
  // Above the size from which a default scan reads on worker threads.
  bench = makeCorpus(path.join(dir, 'bench'), { files: 2_200, deep: false }).pool;
  // Blocks are counted once written back: without this, `allocated` may change between two scans.
  execFileSync('sync');
});
afterAll(() => cleanup());

describe('scan on worker threads', () => {
  it('gives exactly the in-thread result, file order included', () => {
    for (const pool of [mixed, bench]) {
      const inThread = scan([pool], { workers: 0 });
      expect(scan([pool], { workers: 2 })).toEqual(inThread);
      expect(scan([pool], { workers: 1 })).toEqual(inThread);
    }
    const r = scan([mixed], { workers: 2 });
    const codes = Object.fromEntries(r.files.map((f) => [path.basename(f.path), f.problems.map((p) => p.code)]));
    expect(codes).toMatchObject({ 'l1.qcow2': ['loop'], 'miss.qcow2': ['missing'], 'net.qcow2': ['network'] });
    expect(r.files.find((f) => f.path.endsWith('/ext.qcow2'))!.external).toBe(true);
  });

  it('stops when progress says so, and the next scan still reads everything', () => {
    expect(() => scan([bench], { workers: 2, progress: (done) => done < 512 })).toThrow(ScanCancelled);
    expect(scan([bench], { workers: 2 }).summary.files).toBe(2_200);
  });
});

describe('scanStream', () => {
  it('streams batches as read, then final batches that are the whole scan', () => {
    for (const workers of [0, 2]) {
      const batches: ScanBatch[] = [];
      const r = scanStream([bench], { workers }, (b) => batches.push(b));
      const whole = scan([bench], { workers: 0 });
      expect(r).toEqual(whole);
      const read = batches.filter((b) => !b.final);
      const final = batches.filter((b) => b.final);
      expect(batches.indexOf(final[0]!)).toBe(read.length);
      expect(final.flatMap((b) => b.files)).toEqual(whole.files);
      expect(final.at(-1)!.done).toBe(whole.files.length);
      expect(read.length).toBeGreaterThan(1);
      expect(read.flatMap((b) => b.files.map((f) => f.path))).toEqual(whole.files.map((f) => f.path));
      expect(read.at(-1)!.done).toBe(read.at(-1)!.total);
      // As read: no references yet, everything else as in the final record.
      const first = read[0]!.files[0]!;
      const same = whole.files.find((f) => f.path === first.path)!;
      expect({ ...first, backing: same.backing, dataFile: same.dataFile, usedBy: same.usedBy }).toEqual(same);
      expect(read.flatMap((b) => b.files).every((f) => f.backing === null && f.dataFile === null && f.usedBy.length === 0)).toBe(true);
    }
  });
});

describe('whole trees early (onTrees)', () => {
  /** Every batch's files, merged by path in order after each batch. */
  function merged(pool: string, workers: number) {
    const batches: ScanBatch[] = [];
    const states: Map<string, ScannedFile>[] = [];
    const now = new Map<string, ScannedFile>();
    const r = scanStream(
      [pool],
      { workers, onTrees: (b) => (batches.push(b), states.push(new Map(b.files.reduce((m, f) => m.set(f.path, f), now)))) },
      () => undefined,
    );
    return { r, batches, states, all: now };
  }

  it('sends trees closed downward as they are read, and ends with exactly the scan', () => {
    for (const workers of [0, 2]) {
      for (const pool of [mixed, bench]) {
        const { r, batches, states, all } = merged(pool, workers);
        const whole = scan([pool], { workers: 0 });
        expect(r).toEqual(whole);
        expect(batches.filter((b) => b.final)).toHaveLength(1);
        expect(batches.at(-1)!.final).toBe(true);
        // Merged, the batches are the scan's files, record for record.
        expect(new Map(whole.files.map((f) => [f.path, f]))).toEqual(all);
        const final = new Map(whole.files.map((f) => [f.path, f]));
        for (const [i, state] of states.entries()) {
          if (batches[i]!.final) continue;
          for (const f of state.values()) {
            const want = final.get(f.path)!;
            // As final, but for users not sent yet; its backing file and data file sent with it.
            expect({ ...f, usedBy: want.usedBy }).toEqual(want);
            expect(f.usedBy.every((u) => want.usedBy.includes(u) && state.has(u))).toBe(true);
            for (const t of [f.backing, f.dataFile]) if (t !== null && final.has(t)) expect(state.has(t)).toBe(true);
          }
        }
        if (pool === bench) {
          // Nothing there waits for the end: every file is sent while the scan reads.
          const early = batches.filter((b) => !b.final);
          expect(early.length).toBeGreaterThan(4);
          expect(early[0]!.files.length).toBeGreaterThan(0);
          expect(states.at(-2)!.size).toBe(whole.files.length);
        } else {
          // Loops and files naming outside ones are held to the end.
          const held = batches.at(-1)!.files.map((f) => path.basename(f.path));
          expect(held).toEqual(expect.arrayContaining(['l1.qcow2', 'l2.qcow2', 'useext.qcow2', 'ext.qcow2']));
          expect(states.at(-2)!.has(path.join(mixed, 'o1.qcow2'))).toBe(true);
        }
      }
    }
  });
});

describe('scan --json', () => {
  it('written in pieces, is JSON.stringify of the whole scan', () => {
    for (const pool of [mixed, bench]) {
      const r = scan([pool], { workers: 0 });
      const pieces = [...scanJsonPieces(r)];
      if (pool === bench) expect(pieces.length).toBeGreaterThan(4);
      expect(pieces.join('')).toBe(JSON.stringify(r));
    }
  });

  it('the CLI (reading on worker threads) prints exactly the in-thread scan', () => {
    for (const pool of [mixed, bench]) {
      const cli = diskchain(['scan', '--json', pool]);
      expect(cli.status).toBe(0);
      expect(cli.stdout).toBe(JSON.stringify(scan([pool], { workers: 0 })) + '\n');
    }
  });
});
