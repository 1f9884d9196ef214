// QED: header checks in the order of qemu 7.2's bdrv_qed_do_open(), with qemu's wording.
// Header (little-endian, 64 bytes): magic "QED\0", cluster_size u32, table_size u32 (clusters per
// table), header_size u32 (clusters), features u64, compat_features u64, autoclear_features u64,
// l1_table_offset u64, image_size u64, backing_filename_offset u32, backing_filename_size u32.
// Feature bits: 0 backing file, 1 need check (not closed cleanly), 2 backing is raw (no probe).
import type { HeaderInfo, Problem } from '../../../../shared/model.js';
import { HeaderError, type ImageSource } from '../source.js';
import type { ChildName, FormatModule, ParsedImage } from './types.js';
import { bdrvLength, headBytes, refuseTooLarge } from './common/block-reads.js';
import { backingExtra, childFromName, namePastEof } from './common/child-name.js';
import { U64 } from './common/limits.js';
import { exact, isPow2 } from './common/numbers.js';
import { ZeroFillReader } from './common/zero-fill-reader.js';

const QED_MAGIC = 0x00444551; // "QED\0" read little-endian
const QED_F_BACKING_FILE = 1n;
const QED_F_NEED_CHECK = 2n;
const QED_F_BACKING_FORMAT_NO_PROBE = 4n;
const QED_FEATURE_MASK = 7n;
const QED_MIN_CLUSTER_SIZE = 4096;
const QED_MAX_CLUSTER_SIZE = 64 * 1024 * 1024;
const QED_MIN_TABLE_SIZE = 1;
const QED_MAX_TABLE_SIZE = 16;
/** sizeof(bs->backing_file): PATH_MAX. */
const BACKING_FILE_BUF = 4096;

function probe(src: ImageSource): number {
  return headBytes(src, 4).readUInt32LE(0) === QED_MAGIC ? 100 : 0;
}

function parse(src: ImageSource): ParsedImage {
  const r = new ZeroFillReader(src);
  const h = r.read(0, 64, 'Failed to read QED header');
  if (h.readUInt32LE(0) !== QED_MAGIC) throw new HeaderError('Image not in QED format');
  const clusterSize = h.readUInt32LE(4);
  const tableSize = h.readUInt32LE(8);
  const headerSize = h.readUInt32LE(12);
  const features = h.readBigUInt64LE(16);
  const compatFeatures = h.readBigUInt64LE(24);
  const autoclearFeatures = h.readBigUInt64LE(32);
  const l1TableOffset = h.readBigUInt64LE(40);
  const imageSize = h.readBigUInt64LE(48);
  const backingFilenameOffset = h.readUInt32LE(56);
  const backingFilenameSize = h.readUInt32LE(60);

  if ((features & ~QED_FEATURE_MASK) !== 0n) {
    throw new HeaderError(`Unsupported QED features: ${(features & ~QED_FEATURE_MASK).toString(16)}`, 'unsupported-feature');
  }
  if (clusterSize < QED_MIN_CLUSTER_SIZE || clusterSize > QED_MAX_CLUSTER_SIZE || !isPow2(clusterSize)) {
    throw new HeaderError('QED cluster size is invalid');
  }
  const cs = BigInt(clusterSize);
  // bdrv_getlength() (whole sectors) rounded down to a cluster: table offsets must lie below it.
  const fileSize = (BigInt(bdrvLength(src.size)) / cs) * cs;
  if (tableSize < QED_MIN_TABLE_SIZE || tableSize > QED_MAX_TABLE_SIZE || !isPow2(tableSize)) {
    throw new HeaderError('QED table size is invalid');
  }
  // qed_max_image_size(): table entries * cluster size * table entries, in uint64 arithmetic.
  const tableEntries = BigInt((Math.imul(tableSize, clusterSize) >>> 0) / 8);
  const maxImageSize = (((tableEntries * cs) & U64) * tableEntries) & U64;
  if (imageSize % 512n !== 0n || imageSize > maxImageSize) throw new HeaderError('QED image size is invalid');
  // qed_check_table_offset()
  const headerBytes = BigInt(headerSize) * cs;
  const clusterOk = (off: bigint): boolean => off % cs === 0n && off >= headerBytes && off < fileSize;
  const endOffset = (l1TableOffset + BigInt(Math.imul(tableSize - 1, clusterSize) >>> 0)) & U64;
  if (endOffset <= l1TableOffset || !clusterOk(l1TableOffset) || !clusterOk(endOffset)) {
    throw new HeaderError('QED table offset is invalid');
  }

  const problems: Problem[] = [];
  let backing: ChildName | null = null;
  const backingRaw = (features & QED_F_BACKING_FILE) !== 0n;
  const backingIsRaw = (features & QED_F_BACKING_FORMAT_NO_PROBE) !== 0n;
  if (backingRaw) {
    // cluster_size * header_size is computed in 32 bits by qemu.
    const limit = Math.imul(clusterSize, headerSize) >>> 0;
    if (backingFilenameOffset + backingFilenameSize > limit) throw new HeaderError('QED backing filename offset is invalid');
    if (backingFilenameSize >= BACKING_FILE_BUF) throw new HeaderError('Failed to read backing filename');
    const raw = r.read(backingFilenameOffset, backingFilenameSize, 'Failed to read backing filename');
    const pastEof = namePastEof(backingFilenameOffset, raw, src.size);
    const b = childFromName(raw, backingIsRaw ? 'raw' : null, 'backing file', { pastEof });
    backing = b.child;
    problems.push(...b.problems);
  }
  const needCheck = (features & QED_F_NEED_CHECK) !== 0n;
  if (needCheck) {
    problems.push({
      code: 'dirty',
      message: 'The QED need-check bit is set: the image was not closed cleanly (qemu repairs it when opened read-write)',
    });
  }

  // The image size is a multiple of 512 (checked above), so it is the sector-rounded length.
  refuseTooLarge(imageSize);
  const fields: HeaderInfo['fields'] = {
    cluster_size: clusterSize,
    table_size: tableSize,
    header_size: headerSize,
    features: exact(features),
    compat_features: exact(compatFeatures),
    autoclear_features: exact(autoclearFeatures),
    l1_table_offset: exact(l1TableOffset),
    image_size: exact(imageSize),
    backing_filename_offset: backingFilenameOffset,
    backing_filename_size: backingFilenameSize,
    backing_file: backingRaw,
    need_check: needCheck,
    backing_format_no_probe: backingIsRaw,
  };
  const header: HeaderInfo = {
    format: 'qed',
    virtualSize: exact(imageSize),
    clusterSize,
    encrypted: false,
    // qemu-img 7.2 reports "dirty-flag": false for QED even with the need-check bit set.
    dirty: false,
    fields,
    extensions: [],
    formatSpecific: null,
  };
  return { header, backing, dataFile: null, problems, qemuExtra: backingExtra(backing) };
}

export const qed: FormatModule = { name: 'qed', probe, parse };
