// Reads as qemu's block layer does them over a regular file (bdrv_pread): bytes past the end of
// the file are zeros, and a request reaching past BDRV_MAX_LENGTH is refused before any I/O.
import { HeaderError, MAX_READ, type ImageSource } from '../../source.js';
import { BDRV_MAX_LENGTH, BDRV_REQUEST_MAX_BYTES } from './limits.js';
import { big, type Wide } from './numbers.js';

/**
 * Whether the block layer refuses a read of [offset, offset + length) with EIO: bdrv_pread()
 * checks it with bdrv_check_request32(), which also caps one request at BDRV_REQUEST_MAX_BYTES
 * (a vhdx BAT region of 4 GiB - 1 is refused so, found by the differential fuzzer).
 */
export function bdrvRefuses(offset: Wide, length: Wide): boolean {
  if (Number(length) > BDRV_REQUEST_MAX_BYTES) return true; // exact enough: the cap is far below 2^53
  // Two safe non-negative numbers end below 2^54, far inside BDRV_MAX_LENGTH (about 2^63).
  if (typeof offset === 'number' && typeof length === 'number' && offset >= 0 && length >= 0) return false;
  const off = big(offset);
  return off < 0n || off > BDRV_MAX_LENGTH || big(length) > BDRV_MAX_LENGTH - off;
}

/**
 * bdrv_pread(): `length` bytes at `offset`, zero-filled past the end of the file. `refusal` is the
 * whole message for a request the block layer refuses (each driver words its EIO its own way);
 * `what` names the read for the source's own limits.
 */
export function preadZ(src: ImageSource, offset: Wide, length: number, what: string, refusal: string): Buffer {
  if (bdrvRefuses(offset, length)) throw new HeaderError(refusal);
  const out = Buffer.alloc(length);
  if (offset >= src.size || length === 0) return out;
  const off = Number(offset);
  const n = Math.min(length, src.size - off);
  for (let done = 0; done < n; done += MAX_READ) {
    const len = Math.min(MAX_READ, n - done);
    if (off + done + len <= src.head.length) src.head.copy(out, done, off + done, off + done + len);
    else src.read(off + done, len, what).copy(out, done);
  }
  return out;
}

/**
 * bdrv_refresh_total_sectors() after a driver opened the image: total_sectors * 512, an unsigned
 * product, must not pass BDRV_MAX_LENGTH. `bytes` is the size already rounded down to sectors.
 */
export function refuseTooLarge(bytes: Wide): void {
  if (bytes > BDRV_MAX_LENGTH) throw new HeaderError('Could not refresh total sector count: File too large');
}

/**
 * bdrv_getlength() of a regular file: its size rounded up to whole 512-byte sectors, which is the
 * length every driver's "past the end of the file" checks compare against.
 */
export function bdrvLength(size: number): number {
  return Math.ceil(size / 512) * 512;
}

/** The first `n` bytes of the file (n <= HEAD_SIZE), zero-padded as a probe buffer is. Read-only: may be a view of the head. */
export function headBytes(src: ImageSource, n: number): Buffer {
  if (src.head.length >= n) return src.head.subarray(0, n);
  const b = Buffer.alloc(n);
  src.head.copy(b, 0, 0, Math.min(n, src.head.length));
  return b;
}
