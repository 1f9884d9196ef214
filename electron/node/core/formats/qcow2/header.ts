// The qcow2 header (versions 2 and 3): its fields, and the checks qemu 7.2's qcow2_do_open()
// makes on them, in its order and wording. Reads past the end of the file see zeros.
import { HeaderError } from '../../source.js';
import { INT64_MAX, INT_MAX, U64 } from '../common/limits.js';
import { big, hasBit, isMultiple, u64BE, type Wide } from '../common/numbers.js';
import { QCOW_MAGIC } from '../common/qcow-magic.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';

// Feature bits by number (for hasBit): the feature words are Wide, like every 64-bit field.
export const INCOMPAT_DIRTY = 0;
export const INCOMPAT_CORRUPT = 1;
export const INCOMPAT_DATA_FILE = 2;
export const INCOMPAT_COMPRESSION = 3;
export const INCOMPAT_EXTL2 = 4;
export const INCOMPAT_MASK = 0x1f;
export const COMPAT_LAZY_REFCOUNTS = 0;
export const AUTOCLEAR_BITMAPS = 0;
export const AUTOCLEAR_DATA_FILE_RAW = 1;

export const CRYPT_NONE = 0;
export const CRYPT_AES = 1;
export const CRYPT_LUKS = 2;

const QCOW_MAX_REFTABLE_SIZE = 8 * 1024 * 1024;
const QCOW_MAX_L1_SIZE = 32 * 1024 * 1024;
const QCOW_MAX_SNAPSHOTS = 65536;
const SNAPSHOT_HEADER_SIZE = 40;

export interface Qcow2Header {
  version: number;
  backingFileOffset: Wide;
  backingFileSize: number;
  clusterBits: number;
  clusterSize: number;
  size: Wide;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: Wide;
  refcountTableOffset: Wide;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: Wide;
  incompat: Wide;
  compat: Wide;
  autoclear: Wide;
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

  const backingFileOffset = u64BE(h, 8);
  const clusterBits = h.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new HeaderError(`Unsupported cluster size: 2^${clusterBits}`);
  const clusterSize = 2 ** clusterBits;

  let incompat: Wide = 0;
  let compat: Wide = 0;
  let autoclear: Wide = 0;
  let refcountOrder = 4;
  let headerLength = 72;
  if (version === 3) {
    incompat = u64BE(h, 72);
    compat = u64BE(h, 80);
    autoclear = u64BE(h, 88);
    refcountOrder = h.readUInt32BE(96);
    headerLength = h.readUInt32BE(100);
    if (headerLength < 104) throw new HeaderError('qcow2 header too short');
  }
  if (headerLength > clusterSize) throw new HeaderError('qcow2 header exceeds cluster size');
  if (backingFileOffset > clusterSize) throw new HeaderError('Invalid backing file offset');

  const compressionType = headerLength > 104 ? h[104]! : 0;
  if (compressionType > 1) throw new HeaderError(`qcow2: unknown compression type: ${compressionType}`, 'unsupported-feature');
  if (compressionType === 0 && hasBit(incompat, INCOMPAT_COMPRESSION)) {
    throw new HeaderError('qcow2: Compression type incompatible feature bit must not be set');
  }
  if (compressionType !== 0 && !hasBit(incompat, INCOMPAT_COMPRESSION)) {
    throw new HeaderError('qcow2: Compression type incompatible feature bit must be set');
  }
  return {
    version,
    backingFileOffset,
    backingFileSize: h.readUInt32BE(16),
    clusterBits,
    clusterSize,
    size: u64BE(h, 24),
    cryptMethod: h.readUInt32BE(32),
    l1Size: h.readUInt32BE(36),
    l1TableOffset: u64BE(h, 40),
    refcountTableOffset: u64BE(h, 48),
    refcountTableClusters: h.readUInt32BE(56),
    nbSnapshots: h.readUInt32BE(60),
    snapshotsOffset: u64BE(h, 64),
    incompat,
    compat,
    autoclear,
    refcountOrder,
    headerLength,
    compressionType,
    extEnd: backingFileOffset !== 0 ? Number(backingFileOffset) : clusterSize,
  };
}

/** qcow2_validate_table(); entries is a uint32, so the first check bounds entries * entryLen. */
function validateTable(offset: Wide, entries: number, entryLen: number, maxBytes: number, clusterSize: number, name: string): void {
  if (entries > Math.floor(maxBytes / entryLen)) throw new HeaderError(`${name} too large`);
  // A safe offset plus at most maxBytes stays below INT64_MAX; only a bigint one can pass it.
  const overflows = typeof offset === 'bigint' && INT64_MAX - BigInt(entries * entryLen) < offset;
  if (overflows || !isMultiple(offset, clusterSize)) {
    throw new HeaderError(`${name} offset invalid`);
  }
}

/** The L1 index of the VM state, ((size + 2^shift - 1) mod 2^64) >> shift, exact for any size. */
function l1VmStateIndex(size: Wide, shift: number): Wide {
  const step = 2 ** shift;
  if (typeof size === 'number' && size <= Number.MAX_SAFE_INTEGER - step) return Math.floor((size + step - 1) / step);
  const s = BigInt(shift);
  return ((big(size) + (1n << s) - 1n) & U64) >> s;
}

/** The checks after the feature bits: subclusters, refcount width, the tables, the crypt method. */
export function checkTables(r: ZeroFillReader, h: Qcow2Header): void {
  const extendedL2 = hasBit(h.incompat, INCOMPAT_EXTL2);
  const subclusterSize = extendedL2 ? h.clusterSize / 32 : h.clusterSize;
  if (subclusterSize < 512) throw new HeaderError(`Unsupported subcluster size: ${subclusterSize}`);
  if (h.refcountOrder > 6) throw new HeaderError('Reference count entry width too large; may not exceed 64 bits');

  if (h.refcountTableClusters === 0) throw new HeaderError('Image does not contain a reference count table');
  const cs = h.clusterSize;
  validateTable(h.refcountTableOffset, h.refcountTableClusters, cs, QCOW_MAX_REFTABLE_SIZE, cs, 'Reference count table');
  validateTable(h.snapshotsOffset, h.nbSnapshots, SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE * QCOW_MAX_SNAPSHOTS, cs, 'Snapshot table');
  validateTable(h.l1TableOffset, h.l1Size, 8, QCOW_MAX_L1_SIZE, cs, 'Active L1 table');

  const l2Bits = h.clusterBits - (extendedL2 ? 4 : 3);
  const vmStateIndex = l1VmStateIndex(h.size, h.clusterBits + l2Bits);
  if (vmStateIndex > INT_MAX) throw new HeaderError('Image is too big');
  if (h.l1Size < vmStateIndex) throw new HeaderError('L1 table is too small');
  if (h.l1Size > 0) r.check(h.l1TableOffset, h.l1Size * 8, 'Could not read L1 table');

  // qcow2_update_options(): the crypt method must be one qemu knows (printed as a C int).
  if (h.cryptMethod !== CRYPT_NONE && h.cryptMethod !== CRYPT_AES && h.cryptMethod !== CRYPT_LUKS) {
    throw new HeaderError(`Unsupported encryption method ${h.cryptMethod | 0}`, 'unsupported-feature');
  }
  // qcow2_refcount_init() reads the whole refcount table.
  r.check(h.refcountTableOffset, h.refcountTableClusters * cs, 'Could not initialize refcount handling');
}
