// Reads as qemu's block layer does them over a regular file (bdrv_pread): bytes past the end of
// the file are zeros, and a request reaching past BDRV_MAX_LENGTH is refused before any I/O.
import { HeaderError, MAX_READ, type ImageSource } from '../../source.js';
import { BDRV_MAX_LENGTH } from './limits.js';

/** Whether bdrv_check_request() refuses [offset, offset + length). */
export function bdrvRefuses(offset: bigint, length: bigint | number): boolean {
  const len = BigInt(length);
  return offset < 0n || offset > BDRV_MAX_LENGTH || len > BDRV_MAX_LENGTH - offset;
}

/**
 * bdrv_pread(): `length` bytes at `offset`, zero-filled past the end of the file. `refusal` is the
 * whole message for a request the block layer refuses (each driver words its EIO its own way);
 * `what` names the read for the source's own limits.
 */
export function preadZ(src: ImageSource, offset: bigint, length: number, what: string, refusal: string): Buffer {
  if (bdrvRefuses(offset, length)) throw new HeaderError(refusal);
  const out = Buffer.alloc(length);
  if (offset >= BigInt(src.size) || length === 0) return out;
  const off = Number(offset);
  const n = Math.min(length, src.size - off);
  for (let done = 0; done < n; done += MAX_READ) {
    const len = Math.min(MAX_READ, n - done);
    if (off + done + len <= src.head.length) src.head.copy(out, done, off + done, off + done + len);
    else src.read(off + done, len, what).copy(out, done);
  }
  return out;
}

/** The first `n` bytes of the file (n <= HEAD_SIZE), zero-padded as a probe buffer is. */
export function headBytes(src: ImageSource, n: number): Buffer {
  const b = Buffer.alloc(n);
  src.head.copy(b, 0, 0, Math.min(n, src.head.length));
  return b;
}
