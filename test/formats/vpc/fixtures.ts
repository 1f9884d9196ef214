// VHD fixtures: images from qemu-img; malformed variants patch the footer (and fix its checksum
// unless the test is about the checksum) or the dynamic disk header.
import * as fs from 'node:fs';
import { qemuImg } from '../../support/qemu.js';

export { be32, be64 } from '../../support/qemu.js';

export function makeVpc(dir: string, name: string, size: string, fixed = false): string {
  qemuImg(dir, 'create', '-q', '-f', 'vpc', ...(fixed ? ['-o', 'subformat=fixed'] : []), name, size);
  return name;
}

export const FOOTER = {
  dataOffset: 16,
  creatorApp: 28,
  currentSize: 48,
  geometry: 56,
  type: 60,
  checksum: 64,
} as const;

export const DYN = {
  magic: 0,
  tableOffset: 16,
  maxTableEntries: 28,
  blockSize: 32,
} as const;

/** Recompute the footer checksum of the 512 bytes at `at` in `file`. */
export function fixChecksum(file: string, at: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(512);
    fs.readSync(fd, b, 0, 512, at);
    b.writeUInt32BE(0, FOOTER.checksum);
    let sum = 0;
    for (const x of b) sum = (sum + x) >>> 0;
    b.writeUInt32BE(~sum >>> 0, FOOTER.checksum);
    fs.writeSync(fd, b, 0, 512, at);
  } finally {
    fs.closeSync(fd);
  }
}
