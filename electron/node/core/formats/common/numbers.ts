// Header integers without a BigInt on the common path. A 64-bit field is read as a `Wide`: a
// plain number when it is at most 2^53 - 1 (every real offset and size), a bigint only beyond.
// Checks stay exact for every value: they take a number fast path only where no intermediate
// can leave the safe range, and fall back to bigint arithmetic otherwise.

/** An unsigned integer that is a number exactly when it is at most Number.MAX_SAFE_INTEGER. */
export type Wide = number | bigint;

const TWO32 = 2 ** 32;
/** High words below 2^21 keep hi * 2^32 + lo at most 2^53 - 1. */
const SAFE_HI = 2 ** 21;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A big-endian uint64 at `off`. */
export function u64BE(b: Buffer, off: number): Wide {
  const hi = b.readUInt32BE(off);
  return hi < SAFE_HI ? hi * TWO32 + b.readUInt32BE(off + 4) : b.readBigUInt64BE(off);
}

/** A little-endian uint64 at `off`. */
export function u64LE(b: Buffer, off: number): Wide {
  const hi = b.readUInt32LE(off + 4);
  return hi < SAFE_HI ? hi * TWO32 + b.readUInt32LE(off) : b.readBigUInt64LE(off);
}

/** The value as a bigint, for the arithmetic that may leave the safe range. */
export const big = (v: Wide): bigint => (typeof v === 'bigint' ? v : BigInt(v));

/** A bigint result back in the Wide form (a number when exact). */
export function wide(v: bigint): Wide {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

/** For `fields` and sizes: a number when exact, else its decimal text (never rounded). */
export function exact(v: Wide): number | string {
  if (typeof v === 'number') return v;
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

/** Whether bit `n` (0..52) of a non-negative value is set. */
export function hasBit(v: Wide, n: number): boolean {
  if (typeof v === 'bigint') return ((v >> BigInt(n)) & 1n) === 1n;
  // Feature words are almost always below 2^32, where the unsigned shift is exact.
  if (v < TWO32 && n < 32) return ((v >>> n) & 1) === 1;
  return Math.floor(v / 2 ** n) % 2 === 1;
}

/** v % m === 0 for a non-negative v and a positive safe m. */
export function isMultiple(v: Wide, m: number): boolean {
  return typeof v === 'number' ? v % m === 0 : v % BigInt(m) === 0n;
}

/** v rounded down to a multiple of `m` (a power of two up to 2^30), as qemu's sector sizes are. */
export function alignDown(v: Wide, m: number): Wide {
  return typeof v === 'number' ? v - (v % m) : wide((v / BigInt(m)) * BigInt(m));
}

export function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
