// Turning header integers into what `fields` and sizes can hold without losing a digit.
import { HeaderError } from '../../source.js';

/** A 64-bit value for `fields`: a number when exact, else its decimal text (never rounded). */
export function exact(v: bigint): number | string {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return v <= max && v >= -max ? Number(v) : v.toString();
}

/** A 64-bit size that must become a number; refuses (rather than rounds) above 2^53. */
export function safeSize(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new HeaderError(`${what} ${v} is larger than 2^53 bytes and cannot be shown exactly`, 'unsupported-feature');
  }
  return Number(v);
}

export function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
