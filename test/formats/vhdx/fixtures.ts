// VHDX fixtures: images from qemu-img, edited in memory with their checksums kept right (or
// deliberately wrong), then written back.
import * as fs from 'node:fs';
import { vhdxCrc32c } from '../../../electron/node/core/formats/vhdx.js';
import { qemuImg } from '../../support/qemu.js';

export function makeVhdx(dir: string, name: string, size: string, opts: string[] = []): string {
  qemuImg(dir, 'create', '-q', '-f', 'vhdx', ...(opts.length ? ['-o', opts.join(',')] : []), name, size);
  return name;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const HEADER1 = 64 * KiB;
export const HEADER2 = 128 * KiB;
export const REGION_TABLE = 192 * KiB;

/** MS GUID bytes of a textual GUID. */
export function guidBytes(text: string): Buffer {
  const h = text.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

export const GUID = {
  bat: '2dc27766-f623-4200-9d64-115e9bfd4a08',
  metadata: '8b7ca206-4790-4b9a-b8fe-575f050f886e',
  fileParams: 'caa16737-fa36-4d43-b3b6-33f0aa44e76b',
  virtualSize: '2fa54224-cd1b-4876-b211-5dbed83bf4b8',
  logicalSector: '8141bf1d-a96f-4709-ba47-f233a8faab5f',
  parentLocator: 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c',
} as const;

/** A whole VHDX file in memory. */
export class VhdxEdit {
  readonly b: Buffer;
  constructor(readonly file: string) {
    this.b = fs.readFileSync(file);
  }

  /** Edit both headers (or one) and fix their CRCs. */
  header(edit: (h: Buffer) => void, which: Array<0 | 1> = [0, 1], fixCrc = true): this {
    for (const i of which) {
      const h = this.b.subarray(i === 0 ? HEADER1 : HEADER2, (i === 0 ? HEADER1 : HEADER2) + 4 * KiB);
      edit(h);
      if (fixCrc) h.writeUInt32LE(vhdxCrc32c(h, 4), 4);
    }
    return this;
  }

  regionTable(edit: (rt: Buffer) => void, fixCrc = true): this {
    const rt = this.b.subarray(REGION_TABLE, REGION_TABLE + 64 * KiB);
    edit(rt);
    if (fixCrc) rt.writeUInt32LE(vhdxCrc32c(rt, 4), 4);
    return this;
  }

  /** Index of the region table entry with `guid`. */
  region(guid: string): { index: number; offset: number; length: number } {
    const rt = this.b.subarray(REGION_TABLE);
    const n = rt.readUInt32LE(8);
    const g = guidBytes(guid);
    for (let i = 0; i < n; i++) {
      const e = 16 + i * 32;
      if (rt.subarray(e, e + 16).equals(g)) {
        return { index: i, offset: Number(rt.readBigUInt64LE(e + 16)), length: rt.readUInt32LE(e + 24) };
      }
    }
    throw new Error(`no region ${guid}`);
  }

  /** The metadata table (no checksum of its own). */
  metadataTable(): Buffer {
    const m = this.region(GUID.metadata);
    return this.b.subarray(m.offset, m.offset + 64 * KiB);
  }

  /** File offset of the metadata item `guid`'s data. */
  item(guid: string): number {
    const m = this.region(GUID.metadata);
    const t = this.metadataTable();
    const n = t.readUInt16LE(10);
    const g = guidBytes(guid);
    for (let i = 0; i < n; i++) {
      const e = 32 + i * 32;
      if (t.subarray(e, e + 16).equals(g)) return m.offset + t.readUInt32LE(e + 16);
    }
    throw new Error(`no metadata item ${guid}`);
  }

  save(file = this.file): string {
    fs.writeFileSync(file, this.b);
    return file;
  }
}
