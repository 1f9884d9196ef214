// VMDK fixtures: valid images from qemu-img, descriptors written by hand for malformed cases.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { qemuImg } from '../../support/qemu.js';

export type Subformat = 'monolithicSparse' | 'streamOptimized' | 'monolithicFlat' | 'twoGbMaxExtentSparse' | 'twoGbMaxExtentFlat';

/** `qemu-img create -f vmdk -o subformat=...` in `dir`; returns the file name. */
export function makeVmdk(dir: string, name: string, subformat: Subformat, size = '5G', extra: string[] = []): string {
  qemuImg(dir, 'create', '-q', '-f', 'vmdk', '-o', `subformat=${subformat}`, ...extra, name, size);
  return name;
}

/** A text descriptor with the given body lines after the usual header lines. */
export function descriptor(lines: string[], header: { cid?: string; parentCid?: string; createType?: string } = {}): string {
  return [
    '# Disk DescriptorFile',
    'version=1',
    `CID=${header.cid ?? '12345678'}`,
    `parentCID=${header.parentCid ?? 'ffffffff'}`,
    `createType="${header.createType ?? 'monolithicFlat'}"`,
    '',
    '# Extent description',
    ...lines,
    '',
  ].join('\n');
}

export function writeText(dir: string, name: string, text: string | Buffer): string {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
}

/** st_blocks * 512, qemu's allocated size of one file. */
export function allocated(file: string): number {
  return fs.statSync(file).blocks * 512;
}

/** The offsets of the KDMV header fields (from the start of the file). */
export const KDMV = {
  version: 4,
  flags: 8,
  capacity: 12,
  granularity: 20,
  descOffset: 28,
  descSize: 36,
  numGtesPerGt: 44,
  rgdOffset: 48,
  gdOffset: 56,
  grainOffset: 64,
  compressAlgorithm: 77,
} as const;

/** A VMFS sparse ("COWD") extent with a descriptor at 0x200, as qemu reads one. */
export function cowdImage(sectors: number, granularity: number, desc: string): Buffer {
  const b = Buffer.alloc(4096);
  b.write('COWD', 0, 'latin1');
  const fields = [1, 3, sectors, granularity, 4, 1, 8, 0, 0, 0];
  fields.forEach((v, i) => b.writeUInt32LE(v, 4 + i * 4));
  b.write(desc, 512, 'latin1');
  return b;
}

/** An ESXi seSparse extent: const header, volatile header, nothing allocated. */
export function seSparseExtent(capacity: number, patch: (q: bigint[], volatile: bigint[]) => void = () => {}): Buffer {
  const b = Buffer.alloc(8192);
  const q: bigint[] = new Array(26).fill(0n);
  q[0] = 0xcafebaben;
  q[1] = 0x200000001n;
  q[2] = BigInt(capacity);
  q[3] = 8n;
  q[4] = 64n;
  q[10] = 1n; // volatile header at sector 1
  q[11] = 1n;
  q[16] = 2n; // grain directory at sector 2
  q[17] = 1n;
  q[18] = 3n;
  q[19] = 1n;
  q[24] = 4n;
  q[25] = 1n;
  const v: bigint[] = [0xcafecafen, 0n, 0n, 0n];
  patch(q, v);
  q.forEach((x, i) => b.writeBigUInt64LE(x, i * 8));
  v.forEach((x, i) => b.writeBigUInt64LE(x, 512 + i * 8));
  return b;
}
