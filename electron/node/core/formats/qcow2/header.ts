// The qcow2 header (versions 2 and 3): its fields, and the checks qemu 7.2's qcow2_do_open()
// makes on them, in its order and wording. Reads past the end of the file see zeros.
import { HeaderError } from '../../source.js';
import { INT64_MAX, INT_MAX, U64 } from '../common/limits.js';
import { QCOW_MAGIC } from '../common/qcow-magic.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';

export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_DATA_FILE = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTL2 = 1n << 4n;
export const INCOMPAT_MASK = 0x1fn;
export const COMPAT_LAZY_REFCOUNTS = 1n << 0n;
export const AUTOCLEAR_BITMAPS = 1n << 0n;
export const AUTOCLEAR_DATA_FILE_RAW = 1n << 1n;

export const CRYPT_NONE = 0;
export const CRYPT_AES = 1;
export const CRYPT_LUKS = 2;

const QCOW_MAX_REFTABLE_SIZE = 8n * 1024n * 1024n;
const QCOW_MAX_L1_SIZE = 32n * 1024n * 1024n;
const QCOW_MAX_SNAPSHOTS = 65536n;
const SNAPSHOT_HEADER_SIZE = 40n;

export interface Qcow2Header {
  version: number;
  backingFileOffset: bigint;
  backingFileSize: number;
  clusterBits: number;
  clusterSize: number;
  size: bigint;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: bigint;
  refcountTableOffset: bigint;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: bigint;
  incompat: bigint;
  compat: bigint;
  autoclear: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  /** Where the header extensions end: the backing file name, or the end of the first cluster. */
  extEnd: number;
}

/** The header, checked up to the feature bits (qemu looks at unknown ones next). */
export function readHeader(r: ZeroFillReader): Qcow2Header {
  // sizeof(QCowHeader) is 112: qemu reads that much, zeros past the end of the file.
  const h = r.read(0, 112, 'Could not read qcow2 header');
  if (h.readUInt32BE(0) !== QCOW_MAGIC) throw new HeaderError('Image is not in qcow2 format');
  const version = h.readUInt32BE(4);
  if (version < 2 || version > 3) throw new HeaderError(`Unsupported qcow2 version ${version}`, 'unsupported-feature');

  const backingFileOffset = h.readBigUInt64BE(8);
  const clusterBits = h.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new HeaderError(`Unsupported cluster size: 2^${clusterBits}`);
  const clusterSize = 2 ** clusterBits;

  let incompat = 0n;
  let compat = 0n;
  let autoclear = 0n;
  let refcountOrder = 4;
  let headerLength = 72;
  if (version === 3) {
    incompat = h.readBigUInt64BE(72);
    compat = h.readBigUInt64BE(80);
    autoclear = h.readBigUInt64BE(88);
    refcountOrder = h.readUInt32BE(96);
    headerLength = h.readUInt32BE(100);
    if (headerLength < 104) throw new HeaderError('qcow2 header too short');
  }
  if (headerLength > clusterSize) throw new HeaderError('qcow2 header exceeds cluster size');
  if (backingFileOffset > BigInt(clusterSize)) throw new HeaderError('Invalid backing file offset');

  const compressionType = headerLength > 104 ? h[104]! : 0;
  if (compressionType > 1) throw new HeaderError(`qcow2: unknown compression type: ${compressionType}`, 'unsupported-feature');
  if (compressionType === 0 && (incompat & INCOMPAT_COMPRESSION) !== 0n) {
    throw new HeaderError('qcow2: Compression type incompatible feature bit must not be set');
  }
  if (compressionType !== 0 && (incompat & INCOMPAT_COMPRESSION) === 0n) {
    throw new HeaderError('qcow2: Compression type incompatible feature bit must be set');
  }
  return {
    version,
    backingFileOffset,
    backingFileSize: h.readUInt32BE(16),
    clusterBits,
    clusterSize,
    size: h.readBigUInt64BE(24),
    cryptMethod: h.readUInt32BE(32),
    l1Size: h.readUInt32BE(36),
    l1TableOffset: h.readBigUInt64BE(40),
    refcountTableOffset: h.readBigUInt64BE(48),
    refcountTableClusters: h.readUInt32BE(56),
    nbSnapshots: h.readUInt32BE(60),
    snapshotsOffset: h.readBigUInt64BE(64),
    incompat,
    compat,
    autoclear,
    refcountOrder,
    headerLength,
    compressionType,
    extEnd: backingFileOffset !== 0n ? Number(backingFileOffset) : clusterSize,
  };
}

/** qcow2_validate_table() */
function validateTable(offset: bigint, entries: bigint, entryLen: bigint, maxBytes: bigint, clusterSize: number, name: string): void {
  if (entries > maxBytes / entryLen) throw new HeaderError(`${name} too large`);
  if (INT64_MAX - entries * entryLen < offset || offset % BigInt(clusterSize) !== 0n) {
    throw new HeaderError(`${name} offset invalid`);
  }
}

/** The checks after the feature bits: subclusters, refcount width, the tables, the crypt method. */
export function checkTables(r: ZeroFillReader, h: Qcow2Header): void {
  const extendedL2 = (h.incompat & INCOMPAT_EXTL2) !== 0n;
  const subclusterSize = extendedL2 ? h.clusterSize / 32 : h.clusterSize;
  if (subclusterSize < 512) throw new HeaderError(`Unsupported subcluster size: ${subclusterSize}`);
  if (h.refcountOrder > 6) throw new HeaderError('Reference count entry width too large; may not exceed 64 bits');

  if (h.refcountTableClusters === 0) throw new HeaderError('Image does not contain a reference count table');
  const cs = h.clusterSize;
  validateTable(h.refcountTableOffset, BigInt(h.refcountTableClusters), BigInt(cs), QCOW_MAX_REFTABLE_SIZE, cs, 'Reference count table');
  validateTable(
    h.snapshotsOffset,
    BigInt(h.nbSnapshots),
    SNAPSHOT_HEADER_SIZE,
    SNAPSHOT_HEADER_SIZE * QCOW_MAX_SNAPSHOTS,
    cs,
    'Snapshot table',
  );
  validateTable(h.l1TableOffset, BigInt(h.l1Size), 8n, QCOW_MAX_L1_SIZE, cs, 'Active L1 table');

  const l2Bits = h.clusterBits - (extendedL2 ? 4 : 3);
  const shift = BigInt(h.clusterBits + l2Bits);
  const l1VmStateIndex = ((h.size + (1n << shift) - 1n) & U64) >> shift;
  if (l1VmStateIndex > BigInt(INT_MAX)) throw new HeaderError('Image is too big');
  if (BigInt(h.l1Size) < l1VmStateIndex) throw new HeaderError('L1 table is too small');
  if (h.l1Size > 0) r.check(h.l1TableOffset, h.l1Size * 8, 'Could not read L1 table');

  // qcow2_update_options(): the crypt method must be one qemu knows (printed as a C int).
  if (h.cryptMethod !== CRYPT_NONE && h.cryptMethod !== CRYPT_AES && h.cryptMethod !== CRYPT_LUKS) {
    throw new HeaderError(`Unsupported encryption method ${h.cryptMethod | 0}`, 'unsupported-feature');
  }
  // qcow2_refcount_init() reads the whole refcount table.
  r.check(h.refcountTableOffset, h.refcountTableClusters * cs, 'Could not initialize refcount handling');
}
