// The header-integer toolbox at the 2^53 boundary, where a number stops being exact, and the JSON
// writer that prints bigints as qemu prints its integers.
import { describe, expect, it } from 'vitest';
import { exactJson } from '../../electron/node/core/exact-json.js';
import { alignDown, big, exact, hasBit, isMultiple, u64BE, u64LE, wide } from '../../electron/node/core/formats/common/numbers.js';
import { bdrvRefuses } from '../../electron/node/core/formats/common/block-reads.js';
import { BDRV_MAX_LENGTH, BDRV_REQUEST_MAX_BYTES } from '../../electron/node/core/formats/common/limits.js';

const MAX = BigInt(Number.MAX_SAFE_INTEGER); // 2^53 - 1

function be(v: bigint): Buffer {
  const b = Buffer.alloc(10);
  b.writeBigUInt64BE(v, 1);
  return b;
}
function le(v: bigint): Buffer {
  const b = Buffer.alloc(10);
  b.writeBigUInt64LE(v, 1);
  return b;
}

const EDGES = [0n, 1n, 0xffffffffn, 1n << 32n, MAX - 1n, MAX, MAX + 1n, MAX + 2n, 1n << 63n, (1n << 64n) - 1n];

describe('u64BE / u64LE', () => {
  it.each(EDGES)('%s reads back exactly, a number exactly when at most 2^53 - 1', (v) => {
    for (const got of [u64BE(be(v), 1), u64LE(le(v), 1)]) {
      expect(typeof got).toBe(v <= MAX ? 'number' : 'bigint');
      expect(big(got)).toBe(v);
    }
  });
});

describe('wide / exact', () => {
  it('keep a number up to 2^53 - 1 and the exact value beyond', () => {
    expect(wide(MAX)).toBe(Number.MAX_SAFE_INTEGER);
    expect(wide(MAX + 1n)).toBe(MAX + 1n);
    expect(exact(MAX)).toBe(Number.MAX_SAFE_INTEGER);
    expect(exact(MAX + 1n)).toBe('9007199254740992');
    expect(exact((1n << 64n) - 512n)).toBe('18446744073709551104');
    expect(exact(-MAX - 1n)).toBe('-9007199254740992');
  });
});

describe('hasBit / isMultiple / alignDown on both representations', () => {
  it.each(EDGES)('agree with bigint arithmetic for %s', (v) => {
    const w = wide(v);
    for (const n of [0, 1, 4, 31, 32, 52]) expect(hasBit(w, n)).toBe(((v >> BigInt(n)) & 1n) === 1n);
    for (const m of [512, 65536, 1 << 30]) {
      expect(isMultiple(w, m)).toBe(v % BigInt(m) === 0n);
      expect(big(alignDown(w, m))).toBe((v / BigInt(m)) * BigInt(m));
    }
  });
});

describe('bdrvRefuses', () => {
  it('takes the number path only where it cannot refuse, and stays exact at the limit', () => {
    expect(bdrvRefuses(Number.MAX_SAFE_INTEGER, BDRV_REQUEST_MAX_BYTES)).toBe(false);
    // One read is capped as bdrv_check_request32() caps it, whatever the offset.
    expect(bdrvRefuses(0, BDRV_REQUEST_MAX_BYTES + 1)).toBe(true);
    expect(bdrvRefuses(0n, BigInt(BDRV_REQUEST_MAX_BYTES) + 1n)).toBe(true);
    expect(bdrvRefuses(-1, 0)).toBe(true);
    expect(bdrvRefuses(BDRV_MAX_LENGTH, 0)).toBe(false);
    expect(bdrvRefuses(BDRV_MAX_LENGTH, 1)).toBe(true);
    expect(bdrvRefuses(BDRV_MAX_LENGTH + 1n, 0)).toBe(true);
    const cap = BigInt(BDRV_REQUEST_MAX_BYTES);
    expect(bdrvRefuses(BDRV_MAX_LENGTH - cap, BDRV_REQUEST_MAX_BYTES)).toBe(false);
    expect(bdrvRefuses(BDRV_MAX_LENGTH - cap + 1n, BDRV_REQUEST_MAX_BYTES)).toBe(true);
  });
});

describe('exactJson', () => {
  it('writes what JSON.stringify writes for values without bigints', () => {
    const v = [
      { a: 1, b: [1, 'x\u0000"', { c: null, d: undefined, e: [] }], f: {}, g: true, h: -0.5, i: [undefined, () => 1], j: new Date(0) },
    ];
    expect(exactJson(v, 4)).toBe(JSON.stringify(v, null, 4));
    expect(exactJson('s', 4)).toBe('"s"');
  });

  it('writes a bigint as its integer digits, not a string and not rounded', () => {
    expect(exactJson({ 'virtual-size': (1n << 64n) - 512n, n: [MAX + 1n] }, 4)).toBe(
      '{\n    "virtual-size": 18446744073709551104,\n    "n": [\n        9007199254740992\n    ]\n}',
    );
  });

  it('refuses a runaway structure instead of recursing without bound', () => {
    let deep: unknown = 1n;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => exactJson(deep, 1)).toThrow(/too deep/);
  });
});
