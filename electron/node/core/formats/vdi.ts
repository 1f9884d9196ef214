// VDI (VirtualBox): one 512-byte little-endian header, checked as qemu 7.2's vdi_open() does.
// qemu ignores header_size and reads past the end of the file as zeros; so do we.
import { HeaderError, type ImageSource } from '../source.js';
import { headBytes } from './common/block-reads.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

const VDI_SIGNATURE = 0xbeda107f;
const VDI_VERSION_1_1 = 0x00010001;
const SECTOR_SIZE = 512;
const DEFAULT_CLUSTER_SIZE = 1024 * 1024;
/** qemu 7.2: the block map must fit in INT_MAX bytes rounded down to a sector. */
const VDI_BLOCKS_IN_IMAGE_MAX = 536870784;
const VDI_DISK_SIZE_MAX = BigInt(VDI_BLOCKS_IN_IMAGE_MAX) * BigInt(DEFAULT_CLUSTER_SIZE);
const HEADER_SIZE = 512;

/** RFC 4122 text of a VirtualBox (mixed-endian) UUID. */
function uuid(b: Buffer, at: number): string {
  const u = Buffer.from(b.subarray(at, at + 16));
  u.subarray(0, 4).reverse();
  u.subarray(4, 6).reverse();
  u.subarray(6, 8).reverse();
  const h = u.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function isNull(b: Buffer, at: number): boolean {
  return b.subarray(at, at + 16).every((x) => x === 0);
}

function hex(n: number | bigint, width = 0): string {
  return n.toString(16).padStart(width, '0');
}

export const vdi: FormatModule = {
  name: 'vdi',

  probe(src: ImageSource): number {
    // qemu probes a zero-padded 2048-byte buffer: the signature at 64 is all it looks at.
    if (src.size === 0) return 0;
    return headBytes(src, HEADER_SIZE).readUInt32LE(64) === VDI_SIGNATURE ? 100 : 0;
  },

  parse(src: ImageSource): ParsedImage {
    // The 512-byte header, zero-filled past the end of the file (bdrv_pread).
    const h = headBytes(src, HEADER_SIZE);
    const signature = h.readUInt32LE(64);
    const version = h.readUInt32LE(68);
    const headerSize = h.readUInt32LE(72);
    const imageType = h.readUInt32LE(76);
    const imageFlags = h.readUInt32LE(80);
    const offsetBmap = h.readUInt32LE(340);
    const offsetData = h.readUInt32LE(344);
    const sectorSize = h.readUInt32LE(360);
    let diskSize = h.readBigUInt64LE(368);
    const blockSize = h.readUInt32LE(376);
    const blockExtra = h.readUInt32LE(380);
    const blocksInImage = h.readUInt32LE(384);
    const blocksAllocated = h.readUInt32LE(388);

    if (diskSize > VDI_DISK_SIZE_MAX) {
      throw new HeaderError(
        `Unsupported VDI image size (size is 0x${hex(diskSize)}, max supported is 0x${hex(VDI_DISK_SIZE_MAX)})`,
        'unsupported-feature',
      );
    }
    const rawDiskSize = diskSize;
    // 'VBoxManage convertfromraw' can make odd sizes: qemu rounds up to a sector.
    diskSize = (diskSize + 511n) & ~511n;

    if (signature !== VDI_SIGNATURE) {
      throw new HeaderError(`Image not in VDI format (bad signature ${hex(signature, 8)})`);
    } else if (version !== VDI_VERSION_1_1) {
      throw new HeaderError(`unsupported VDI image (version ${version >>> 16}.${version & 0xffff})`, 'unsupported-feature');
    } else if (offsetBmap % SECTOR_SIZE !== 0) {
      throw new HeaderError(`unsupported VDI image (unaligned block map offset 0x${hex(offsetBmap)})`, 'unsupported-feature');
    } else if (offsetData % SECTOR_SIZE !== 0) {
      throw new HeaderError(`unsupported VDI image (unaligned data offset 0x${hex(offsetData)})`, 'unsupported-feature');
    } else if (sectorSize !== SECTOR_SIZE) {
      throw new HeaderError(`unsupported VDI image (sector size ${sectorSize} is not ${SECTOR_SIZE})`, 'unsupported-feature');
    } else if (blockSize !== DEFAULT_CLUSTER_SIZE) {
      throw new HeaderError(`unsupported VDI image (block size ${blockSize} is not ${DEFAULT_CLUSTER_SIZE})`, 'unsupported-feature');
    } else if (diskSize > BigInt(blocksInImage) * BigInt(blockSize)) {
      throw new HeaderError(
        `unsupported VDI image (disk size ${diskSize}, image bitmap has room for ${BigInt(blocksInImage) * BigInt(blockSize)})`,
        'unsupported-feature',
      );
    } else if (!isNull(h, 424)) {
      throw new HeaderError('unsupported VDI image (non-NULL link UUID)', 'unsupported-feature');
    } else if (!isNull(h, 440)) {
      throw new HeaderError('unsupported VDI image (non-NULL parent UUID)', 'unsupported-feature');
    } else if (blocksInImage > VDI_BLOCKS_IN_IMAGE_MAX) {
      throw new HeaderError(
        `unsupported VDI image (too many blocks ${blocksInImage}, max is ${VDI_BLOCKS_IN_IMAGE_MAX})`,
        'unsupported-feature',
      );
    }
    // The block map read (blocks_in_image * 4 bytes at offset_bmap, within 2 GiB) cannot fail:
    // qemu's pread fills what lies past the end of the file with zeros.

    const textEnd = h.subarray(0, 64).indexOf(0);
    return standalone({
      format: 'vdi',
      virtualSize: Number(diskSize),
      clusterSize: blockSize,
      fields: {
        text: h.toString('latin1', 0, textEnd < 0 ? 64 : textEnd).replace(/\n$/, ''),
        signature: `0x${hex(signature, 8)}`,
        version: `${version >>> 16}.${version & 0xffff}`,
        header_size: headerSize,
        image_type: imageType === 1 ? 'dynamic' : imageType === 2 ? 'static' : imageType,
        image_flags: imageFlags,
        offset_bmap: offsetBmap,
        offset_data: offsetData,
        cylinders: h.readUInt32LE(348),
        heads: h.readUInt32LE(352),
        sectors: h.readUInt32LE(356),
        sector_size: sectorSize,
        disk_size: Number(rawDiskSize),
        block_size: blockSize,
        block_extra: blockExtra,
        blocks_in_image: blocksInImage,
        blocks_allocated: blocksAllocated,
        uuid_image: uuid(h, 392),
        uuid_last_snap: uuid(h, 408),
        uuid_link: uuid(h, 424),
        uuid_parent: uuid(h, 440),
      },
    });
  },
};
