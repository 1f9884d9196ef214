// Bounded, non-blocking access to one image file. Header parsers only ever see an ImageSource,
// so no parser can read past the file, past MAX_READ in one call, or past the file's budget.
import * as fs from 'node:fs';

/** The largest single read a parser may ask for: one qcow2 cluster at most (2 MiB). */
export const MAX_READ = 2 * 1024 * 1024;
/** All reads of one file together; VHDX needs a few regions, nothing needs more. */
export const READ_BUDGET = 8 * 1024 * 1024;
/** What is read up front; enough for every header but VHDX metadata and ISO. */
export const HEAD_SIZE = 4096;

/** A broken or hostile header. `message` uses qemu's wording where qemu has one. */
export class HeaderError extends Error {
  constructor(
    message: string,
    readonly code: 'invalid-header' | 'unsupported-feature' = 'invalid-header',
  ) {
    super(message);
    this.name = 'HeaderError';
  }
}

export interface ImageSource {
  /** File size in bytes. */
  readonly size: number;
  /** The first min(size, HEAD_SIZE) bytes. */
  readonly head: Buffer;
  /**
   * Read `length` bytes at `offset`. Throws HeaderError when the range is not inside the file
   * (a header pointing past the end is a broken header) or breaks the bounds above.
   */
  read(offset: number, length: number, what: string): Buffer;
  /** Bytes read so far (tests check the bound). */
  readonly bytesRead: number;
}

// Heads are carved from shared slabs, as Node pools its small buffers: walking a chain of 1,000
// images then allocates 64 slabs, not 1,000 buffers (each one work for the garbage collector).
// A head is never written after it is read, and no two heads share bytes.
const SLAB_SIZE = 16 * HEAD_SIZE;
let slab = Buffer.allocUnsafe(0);
let slabUsed = 0;

function headBuffer(length: number): Buffer {
  if (slabUsed + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + length);
  // Next head 8-byte aligned, as Node aligns pooled buffers.
  slabUsed += (length + 7) & ~7;
  return b;
}

class BufferSource implements ImageSource {
  bytesRead = 0;
  readonly head: Buffer;
  constructor(
    /** Reads up to `length` bytes at file offset `pos` into `buf` from `at`; returns the count. */
    private readonly reader: (buf: Buffer, at: number, length: number, pos: number) => number,
    readonly size: number,
  ) {
    const n = Math.min(size, HEAD_SIZE);
    this.check(0, n, 'header');
    this.head = this.fill(headBuffer(n), 0, 'header');
  }

  read(offset: number, length: number, what: string): Buffer {
    this.check(offset, length, what);
    // Filled completely below or refused: no need to zero it first.
    return this.fill(Buffer.allocUnsafe(length), offset, what);
  }

  private check(offset: number, length: number, what: string): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new HeaderError(`${what}: invalid offset ${offset} or length ${length}`);
    }
    if (length > MAX_READ) throw new HeaderError(`${what}: ${length} bytes is larger than ${MAX_READ}`);
    if (offset + length > this.size) {
      throw new HeaderError(`${what}: offset ${offset} + ${length} is past the end of the file (${this.size} bytes)`);
    }
    if (this.bytesRead + length > READ_BUDGET) throw new HeaderError(`${what}: header needs more than ${READ_BUDGET} bytes`);
  }

  /** `buf` filled from `offset`, all of it. */
  private fill(buf: Buffer, offset: number, what: string): Buffer {
    const length = buf.length;
    let done = 0;
    while (done < length) {
      // Into `buf` at `done` rather than into a view of it: no view to allocate per read.
      const n = this.reader(buf, done, length - done, offset + done);
      if (n <= 0) throw new HeaderError(`${what}: file ended at ${offset + done} while reading`);
      done += n;
    }
    this.bytesRead += length;
    return buf;
  }
}

/** Source over an open descriptor (the caller opened it with O_NOFOLLOW|O_NONBLOCK and owns it). */
export function fdSource(fd: number, size: number): ImageSource {
  return new BufferSource((buf, at, length, pos) => fs.readSync(fd, buf, at, length, pos), size);
}

/** Source over bytes in memory: fuzzing and hand-made malformed headers. */
export function bufferSource(data: Uint8Array): ImageSource {
  const d = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new BufferSource((buf, at, length, pos) => d.copy(buf, at, pos, Math.min(d.length, pos + length)), d.length);
}
