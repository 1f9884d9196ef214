// The mutations: a deterministic PRNG per case, and edits aimed at what header parsers get wrong
// (flipped bits, boundary integers in fields, truncation, offsets near the end of the file, numbers
// in descriptor text, and a second format's magic).
import type { Field, Seed } from './seeds.js';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Mutated {
  bytes: Buffer;
  /** What was done, readable, in order. */
  steps: string[];
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, n: number): number => Math.floor(r() * n);

/** Another format's magic where that format's probe looks for it. */
const MAGICS: Array<[string, number, Buffer]> = [
  ['qcow2', 0, Buffer.from('514649fb00000003', 'hex')],
  ['qcow', 0, Buffer.from('514649fb00000001', 'hex')],
  ['qed', 0, Buffer.from('QED\0', 'latin1')],
  ['vmdk4', 0, Buffer.from('KDMV', 'latin1')],
  ['vmdk-text', 0, Buffer.from('# Disk DescriptorFile\nversion=1\n', 'latin1')],
  ['vpc', 0, Buffer.from('conectix', 'latin1')],
  ['vhdx', 0, Buffer.from('vhdxfile', 'latin1')],
  ['luks', 0, Buffer.from('4c554b53babe0001', 'hex')],
  ['vdi', 64, Buffer.from('7f10dabe', 'hex')],
];

function at(b: Buffer, off: number): number {
  return off < 0 ? b.length + off : off;
}

function interesting(r: Rand, f: Field, old: bigint, fileLen: number): bigint {
  const bits = BigInt(f.width * 8);
  const max = (1n << bits) - 1n;
  const len = BigInt(fileLen);
  const xs = [
    0n,
    1n,
    2n,
    max,
    max - 1n,
    max >> 1n,
    (max >> 1n) + 1n,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x100000000n,
    512n,
    4096n,
    65536n,
    1n << 20n,
    1n << 31n,
    (1n << 53n) - 1n,
    (1n << 53n) + 1n,
    1n << 63n,
    len,
    len - 1n,
    len + 1n,
    len - 512n,
    (len + 511n) & ~511n,
    len / 512n,
    len / 512n + 1n,
    old + 1n,
    old - 1n,
    old * 2n,
    old / 2n,
    old << 9n,
    old >> 9n,
    BigInt(int(r, 1 << 16)),
  ];
  return BigInt.asUintN(Number(bits), pick(r, xs));
}

function readField(b: Buffer, off: number, f: Field): bigint {
  let v = 0n;
  for (let i = 0; i < f.width; i++) v |= BigInt(b[off + (f.le ? i : f.width - 1 - i)]!) << BigInt(8 * i);
  return v;
}

function writeField(b: Buffer, off: number, f: Field, v: bigint): void {
  for (let i = 0; i < f.width; i++) b[off + (f.le ? i : f.width - 1 - i)] = Number((v >> BigInt(8 * i)) & 0xffn);
}

type Mutation = (r: Rand, b: Buffer, seed: Seed) => { bytes: Buffer; step: string } | null;

const flip: Mutation = (r, b, seed) => {
  const [start, len] = pick(r, seed.regions);
  const s = at(b, start);
  const n = Math.min(len, b.length - s);
  if (s < 0 || n <= 0) return null;
  const out: string[] = [];
  for (let k = 1 + int(r, 3); k > 0; k--) {
    const i = s + int(r, n);
    const bit = int(r, 8);
    b[i]! ^= 1 << bit;
    out.push(`${i}^${1 << bit}`);
  }
  return { bytes: b, step: `flip ${out.join(',')}` };
};

const field: Mutation = (r, b, seed) => {
  if (seed.fields.length === 0) return null;
  const f = pick(r, seed.fields);
  const off = at(b, f.at);
  if (off < 0 || off + f.width > b.length) return null;
  const v = interesting(r, f, readField(b, off, f), b.length);
  writeField(b, off, f, v);
  return { bytes: b, step: `${f.name}@${off}=${v}` };
};

const truncate: Mutation = (r, b, seed) => {
  const ends = [
    int(r, b.length),
    b.length - 1 - int(r, 1024),
    ...seed.fields.map((f) => at(b, f.at) + int(r, f.width + 1)),
    (Math.ceil(int(r, b.length) / 512) * 512 + pick(r, [-1, 0, 1])) | 0,
  ];
  const n = Math.max(0, Math.min(b.length - 1, pick(r, ends)));
  return { bytes: b.subarray(0, n), step: `truncate ${n}` };
};

const grow: Mutation = (r, b) => {
  const n = b.length + 1 + int(r, 1024);
  return { bytes: Buffer.concat([b, Buffer.alloc(n - b.length)]), step: `extend ${n}` };
};

const magic: Mutation = (r, b) => {
  const [name, off, m] = pick(r, MAGICS);
  if (off + m.length > b.length) return null;
  m.copy(b, off);
  return { bytes: b, step: `magic ${name}@${off}` };
};

/** Replaces a decimal number in a text descriptor (extent sizes, CIDs, versions). */
const textNumber: Mutation = (r, b, seed) => {
  if (!seed.text) return null;
  const head = b.toString('latin1', 0, Math.min(b.length, 4096));
  const nums = [...head.matchAll(/\d+/g)];
  if (nums.length === 0) return null;
  const m = pick(r, nums);
  const repl = pick(r, ['0', '1', '4', '-1', '2147483648', '4294967296', '9007199254740993', '18446744073709551615', `${m[0]}0`]);
  const out = Buffer.concat([b.subarray(0, m.index), Buffer.from(repl, 'latin1'), b.subarray(m.index + m[0].length)]);
  return { bytes: out, step: `text ${m.index}:${m[0]}->${repl}` };
};

const WEIGHTED: Mutation[] = [flip, flip, flip, field, field, field, field, truncate, grow, magic, textNumber, textNumber];

/** One case: 1 to 3 mutations of the seed, then (mostly) its checksums recomputed. */
export function mutate(seed: Seed, caseSeed: number): Mutated {
  const r = prng(caseSeed);
  let bytes: Buffer = Buffer.from(seed.bytes);
  const steps: string[] = [];
  for (let k = 1 + int(r, 3); k > 0; k--) {
    const m = pick(r, WEIGHTED)(r, bytes, seed);
    if (!m) continue;
    bytes = m.bytes;
    steps.push(m.step);
  }
  if (seed.fixup && r() < 0.8) {
    bytes = Buffer.from(bytes);
    seed.fixup(bytes);
    steps.push('checksums fixed');
  }
  return { bytes, steps };
}
