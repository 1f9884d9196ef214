// VDI fixtures: images from qemu-img; malformed variants patch header fields.
import { qemuImg } from '../../support/qemu.js';

export function makeVdi(dir: string, name: string, size: string, fixed = false): string {
  qemuImg(dir, 'create', '-q', '-f', 'vdi', ...(fixed ? ['-o', 'static=on'] : []), name, size);
  return name;
}

/** Offsets of the header fields qemu checks. */
export const VDI = {
  signature: 64,
  version: 68,
  headerSize: 72,
  imageType: 76,
  offsetBmap: 340,
  offsetData: 344,
  sectorSize: 360,
  diskSize: 368,
  blockSize: 376,
  blocksInImage: 384,
  uuidLink: 424,
  uuidParent: 440,
} as const;
