// Property test: real headers made by qemu-img, mutated (seeded, reproducible). Whatever the bytes,
// probing and parsing give a typed result or a HeaderError, and no read leaves its bounds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_CODES } from '../../shared/model.js';
import { FORMATS, probeFormat } from '../../electron/node/core/formats/index.js';
import { HeaderError, MAX_READ, READ_BUDGET, bufferSource, type ImageSource } from '../../electron/node/core/source.js';
import { qemuImgLuks as q, tempDir } from '../support/qemu.js';

/** Cases per seed image; with the seeds below this is well over 20,000 in all. */
const RUNS = Number(process.env.DISKCHAIN_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.DISKCHAIN_FUZZ_SEED ?? 20261126);
/** Only the first bytes matter to every header but VHD's footer; keep inputs small and fast. */
const KEEP = 256 * 1024;

const seeds: Array<{ name: string; bytes: Buffer }> = [];
let cleanup: () => void;

beforeAll(() => {
  const t = tempDir('fuzz-');
  cleanup = t.cleanup;
  const d = t.dir;
  const make: Array<[string, string[]]> = [
    ['qcow2-v3-backing', ['create', '-q', '-f', 'qcow2', '-u', '-b', 'base.qcow2', '-F', 'qcow2', 'a', '64M']],
    ['qcow2-v2', ['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-u', '-b', 'base.img', '-F', 'raw', 'a', '64M']],
    [
      'qcow2-data-file',
      ['create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw,data_file_raw=on,compression_type=zstd,extended_l2=on', 'a', '64M'],
    ],
    [
      'qcow2-luks',
      [
        'create',
        '-q',
        '-f',
        'qcow2',
        '--object',
        'secret,id=s0,data=pw',
        '-o',
        'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10',
        'a',
        '16M',
      ],
    ],
    ['qcow', ['create', '-q', '-f', 'qcow', '-u', '-b', 'base.qcow', '-F', 'qcow', 'a', '64M']],
    ['qed', ['create', '-q', '-f', 'qed', '-u', '-b', 'base.img', '-F', 'raw', 'a', '64M']],
    ['vmdk', ['create', '-q', '-f', 'vmdk', 'a', '64M']],
    ['vdi', ['create', '-q', '-f', 'vdi', 'a', '64M']],
    ['vpc', ['create', '-q', '-f', 'vpc', 'a', '64M']],
    ['vhdx', ['create', '-q', '-f', 'vhdx', 'a', '64M']],
    ['luks', ['create', '-q', '-f', 'luks', '--object', 'secret,id=s0,data=pw', '-o', 'key-secret=s0,iter-time=10', 'a', '16M']],
  ];
  for (const [name, args] of make) {
    const f = path.join(d, 'a');
    fs.rmSync(f, { force: true });
    q(d, ...args);
    if (name === 'qcow2-v3-backing') q(d, 'bitmap', '--add', 'a', 'bm');
    const all = fs.readFileSync(f);
    seeds.push({ name, bytes: all.subarray(0, Math.min(all.length, KEEP)) });
  }
});
afterAll(() => cleanup());

/** A source that checks every read independently of the one it wraps. */
function watched(data: Buffer): { src: ImageSource; violations: string[] } {
  const inner = bufferSource(data);
  const violations: string[] = [];
  let total = 0;
  const src: ImageSource = {
    size: inner.size,
    head: inner.head,
    get bytesRead() {
      return inner.bytesRead;
    },
    read(offset, length, what) {
      const buf = inner.read(offset, length, what);
      total += buf.length;
      if (offset < 0 || offset + length > data.length) violations.push(`read ${offset}+${length} past ${data.length}`);
      if (length > MAX_READ) violations.push(`read of ${length}`);
      if (total > READ_BUDGET) violations.push(`read ${total} in all`);
      return buf;
    },
  };
  return { src, violations };
}

const codes = new Set<string>(PROBLEM_CODES);

/** Mutations that hit what parsers trust: single bytes, whole fields set to edge values, truncation. */
function mutation(size: number) {
  const edge = fc.constantFrom(
    0n,
    1n,
    7n,
    0xffn,
    0x1ffn,
    0x3ffn,
    0x400n,
    0xffffn,
    0x7fffffffn,
    0xffffffffn,
    0x100000000n,
    1n << 53n,
    (1n << 63n) - 1n,
    1n << 63n,
    (1n << 64n) - 1n,
  );
  const hot = fc.integer({ min: 0, max: Math.min(size, 4096) - 1 });
  const anywhere = fc.integer({ min: 0, max: size - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.oneof(hot, hot, anywhere), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('field32' as const), at: hot, value: edge }),
    fc.record({ kind: fc.constant('field64' as const), at: hot, value: edge }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.oneof(hot, anywhere), value: fc.constant(0) }),
  );
}

function apply(bytes: Buffer, muts: Array<{ kind: string; at: number; value: number | bigint }>): Buffer {
  let b = Buffer.from(bytes);
  for (const m of muts) {
    if (m.kind === 'truncate') b = b.subarray(0, Math.min(m.at, b.length));
    else if (m.at >= b.length) continue;
    else if (m.kind === 'byte') b[m.at] = Number(m.value);
    else if (m.kind === 'field32' && m.at + 4 <= b.length) b.writeUInt32BE(Number(BigInt(m.value) & 0xffffffffn), m.at);
    else if (m.kind === 'field64' && m.at + 8 <= b.length) b.writeBigUInt64BE(BigInt(m.value) & ((1n << 64n) - 1n), m.at);
  }
  return b;
}

function check(data: Buffer): void {
  const { src, violations } = watched(data);
  const modules = [...FORMATS];
  let probed: string;
  try {
    probed = probeFormat(src);
  } catch (e) {
    throw new Error(`probe threw ${String(e)}`);
  }
  // Parse with the probed module, and with every other module too: a header may be opened
  // with an explicit (wrong) format, as a domain XML can state one.
  for (const mod of modules.sort((a, b) => (a.name === probed ? -1 : b.name === probed ? 1 : 0))) {
    const { src: s2, violations: v2 } = watched(data);
    try {
      const r = mod.parse(s2);
      const vs = r.header.virtualSize;
      // A number when exact, else the decimal digits of a size beyond 2^53 - 1.
      expect(typeof vs === 'number' ? Number.isSafeInteger(vs) && vs >= 0 : /^\d+$/.test(vs) && BigInt(vs) > Number.MAX_SAFE_INTEGER).toBe(
        true,
      );
      for (const p of r.problems) expect(codes.has(p.code), `unknown problem code ${p.code}`).toBe(true);
      if (r.backing) expect(Buffer.isBuffer(r.backing.raw)).toBe(true);
      JSON.stringify(r.header);
    } catch (e) {
      if (!(e instanceof HeaderError)) throw new Error(`${mod.name}.parse threw ${e instanceof Error ? e.stack : String(e)}`);
      expect(e.message.length).toBeGreaterThan(0);
    }
    violations.push(...v2);
  }
  expect(violations).toEqual([]);
}

describe('mutated real headers', () => {
  it('every seed image parses unmutated', () => {
    expect(seeds.length).toBe(11);
    for (const s of seeds) check(s.bytes);
  });

  it(`${RUNS} mutations of each of the 11 seed images (seed ${SEED}) give only typed results`, () => {
    let cases = 0;
    for (const [i, s] of seeds.entries()) {
      fc.assert(
        fc.property(fc.array(mutation(s.bytes.length), { minLength: 1, maxLength: 4 }), (muts) => {
          cases++;
          check(apply(s.bytes, muts));
        }),
        { seed: SEED + i, numRuns: RUNS, endOnFailure: true },
      );
    }
    expect(cases).toBe(RUNS * seeds.length);
  }, 600_000);
});
