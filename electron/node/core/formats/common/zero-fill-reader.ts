// qemu's block layer over a regular file, with a chunk cache: the reader the qcow family's
// parsers share. A truncated header is judged on zeros, exactly as qemu judges it.
import { HeaderError, MAX_READ, type ImageSource } from '../../source.js';
import { bdrvRefuses } from './block-reads.js';
import type { Wide } from './numbers.js';

const CHUNK = 4096;

/**
 * Reads like qemu's block layer over a regular file: the part inside the file is read through the
 * ImageSource (cached in 4 KiB chunks, the first one being `src.head`), the rest is zeros. A request
 * qemu would refuse (reaching past BDRV_MAX_LENGTH) throws `<ioMessage>: Input/output error`.
 */
export class ZeroFillReader {
  private readonly chunks = new Map<number, Buffer>();

  constructor(readonly src: ImageSource) {
    if (src.head.length === Math.min(src.size, CHUNK)) this.chunks.set(0, src.head);
  }

  /** Throws as qemu does for a request it refuses before doing any I/O. */
  check(offset: Wide, length: number, ioMessage: string): void {
    if (bdrvRefuses(offset, length)) {
      throw new HeaderError(`${ioMessage}: Input/output error`);
    }
  }

  /** Read-only: a read inside one loaded chunk is a view of it (most of a header's reads are). */
  read(offset: Wide, length: number, ioMessage: string): Buffer {
    if (!Number.isSafeInteger(length) || length < 0) throw new HeaderError(`${ioMessage}: invalid length ${length}`);
    this.check(offset, length, ioMessage);
    if (length > MAX_READ) throw new HeaderError(`${ioMessage}: ${length} bytes is larger than ${MAX_READ}`, 'unsupported-feature');
    if (length === 0 || offset >= this.src.size) return Buffer.alloc(length);
    const start = Number(offset);
    const end = Math.min(start + length, this.src.size);
    this.load(start, end, ioMessage);
    const idx = Math.floor(start / CHUNK);
    const inChunk = start - idx * CHUNK;
    const only = this.chunks.get(idx);
    if (only && end - start === length && inChunk + length <= only.length) return only.subarray(inChunk, inChunk + length);
    const out = Buffer.alloc(length);
    let pos = start;
    while (pos < end) {
      const idx = Math.floor(pos / CHUNK);
      const chunk = this.chunks.get(idx);
      if (!chunk) throw new Error('ZeroFillReader: chunk not loaded');
      const inChunk = pos - idx * CHUNK;
      const n = Math.min(chunk.length - inChunk, end - pos);
      if (n <= 0) break;
      chunk.copy(out, pos - start, inChunk, inChunk + n);
      pos += n;
    }
    return out;
  }

  private load(start: number, end: number, what: string): void {
    const first = Math.floor(start / CHUNK);
    const last = Math.floor((end - 1) / CHUNK);
    const maxRun = Math.floor(MAX_READ / CHUNK);
    let i = first;
    while (i <= last) {
      if (this.chunks.has(i)) {
        i++;
        continue;
      }
      let j = i;
      while (j <= last && j - i < maxRun && !this.chunks.has(j)) j++;
      const runStart = i * CHUNK;
      const runEnd = Math.min(j * CHUNK, this.src.size);
      const buf = this.src.read(runStart, runEnd - runStart, what);
      for (let k = i; k < j; k++) {
        this.chunks.set(k, buf.subarray((k - i) * CHUNK, Math.min((k - i + 1) * CHUNK, buf.length)));
      }
      i = j;
    }
  }
}
