// Mutated headers in memory: the three modules may only ever throw HeaderError, must finish, and
// must stay within the read budget, whatever the bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qcow } from '../../../electron/node/core/formats/qcow.js';
import { qcow2 } from '../../../electron/node/core/formats/qcow2/index.js';
import { qed } from '../../../electron/node/core/formats/qed.js';
import type { FormatModule } from '../../../electron/node/core/formats/types.js';
import { HeaderError, READ_BUDGET, bufferSource } from '../../../electron/node/core/source.js';
import { tempDir } from '../../support/qemu.js';
import { qemuImg } from './fixtures.js';
import { prng } from '../../fuzz/diff/mutate.js';

let dir: string;
let cleanup: () => void;
const seeds: Record<string, Buffer> = {};

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-fuzz-'));
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'over.qcow2');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw,data_file_raw=on', 'df.qcow2', '1M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'bm.qcow2', '1M');
  qemuImg(dir, 'bitmap', '--add', 'bm.qcow2', 'b');
  qemuImg(dir, 'create', '-q', '-f', 'qcow', '-b', 'base.qcow2', '-F', 'qcow2', 'over.qcow');
  qemuImg(dir, 'create', '-q', '-f', 'qed', '-b', 'base.qcow2', '-F', 'raw', 'over.qed');
  for (const f of ['over.qcow2', 'df.qcow2', 'bm.qcow2', 'over.qcow', 'over.qed']) {
    seeds[f] = fs.readFileSync(path.join(dir, f)).subarray(0, 6 * 65536);
  }
});
afterAll(() => cleanup());

function mutate(seed: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(seed);
  const n = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) {
    // Mostly the header and the extension area, sometimes anywhere.
    const pos = rnd() < 0.8 ? Math.floor(rnd() * 512) : Math.floor(rnd() * b.length);
    const kind = rnd();
    if (kind < 0.4) b[pos] = Math.floor(rnd() * 256);
    else if (kind < 0.6) b[pos] = [0, 0xff, 0x80, 0x7f, 1][Math.floor(rnd() * 5)]!;
    else if (kind < 0.8 && pos + 4 <= b.length) b.writeUInt32BE(Math.floor(rnd() * 2 ** 32), pos);
    else if (pos + 8 <= b.length) b.writeBigUInt64BE(BigInt(Math.floor(rnd() * 2 ** 32)) << BigInt(Math.floor(rnd() * 33)), pos);
  }
  const cut = rnd();
  return cut < 0.1 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
}

function run(mod: FormatModule, data: Buffer): void {
  const src = bufferSource(data);
  try {
    mod.probe(src);
    mod.parse(src);
  } catch (e) {
    if (!(e instanceof HeaderError)) throw e;
  }
  expect(src.bytesRead).toBeLessThanOrEqual(READ_BUDGET);
}

describe('fuzzed headers', () => {
  const cases: Array<[FormatModule, string]> = [
    [qcow2, 'over.qcow2'],
    [qcow2, 'df.qcow2'],
    [qcow2, 'bm.qcow2'],
    [qcow, 'over.qcow'],
    [qed, 'over.qed'],
  ];
  for (const [mod, name] of cases) {
    it(`${mod.name} from ${name}: only HeaderError, bounded reads`, () => {
      const rnd = prng(name.length * 7919 + 17);
      for (let i = 0; i < 1500; i++) run(mod, mutate(seeds[name]!, rnd));
    });
  }
});
