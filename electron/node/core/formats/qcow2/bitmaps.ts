// qcow2 persistent dirty bitmaps (qcow2-bitmap.c): the extension, the bitmap directory and the
// checks qemu makes when it loads the bitmaps at open, and the list qemu-img shows.
import { HeaderError, MAX_READ } from '../../source.js';
import { hasBit } from '../common/numbers.js';
import { cString, qemuText } from '../common/text.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';
import type { ExtContext } from './ext-context.js';
import { AUTOCLEAR_BITMAPS } from './header.js';

const QCOW2_MAX_BITMAPS = 65535;
const QCOW2_MAX_BITMAP_DIRECTORY_SIZE = 1024 * QCOW2_MAX_BITMAPS;
/** Bitmap tables larger than this are not read (their entries are not checked). */
const BITMAP_TABLE_READ_LIMIT = 1024 * 1024;

const BME_MAX_TABLE_SIZE = 0x8000000;
const BME_MAX_PHYS_SIZE = 0x20000000n;
const BME_MAX_GRANULARITY_BITS = 31;
const BME_MIN_GRANULARITY_BITS = 9;
const BME_MAX_NAME_SIZE = 1023;
const BME_RESERVED_FLAGS = 0xfffffffc;
const BME_FLAG_IN_USE = 1;
const BME_FLAG_AUTO = 2;
const BME_TABLE_ENTRY_RESERVED_MASK = 0xff000000000001fen;
const BME_TABLE_ENTRY_OFFSET_MASK = 0x00fffffffffffe00n;

export interface Bitmap {
  name: Buffer;
  tableOffset: bigint;
  tableSize: number;
  flags: number;
  granularityBits: number;
}

export interface BitmapsExt {
  nbBitmaps: number;
  dirSize: bigint;
  dirOffset: bigint;
}

/** The bitmaps header extension; null when qemu ignores it (autoclear bit clear). */
export function readBitmapsExt(r: ZeroFillReader, offset: number, len: number, ctx: ExtContext): BitmapsExt | null {
  if (len !== 24) throw new HeaderError('bitmaps_ext: Invalid extension length');
  // Without the autoclear bit, qemu warns that a program without bitmap support touched the
  // image and ignores the extension.
  if (!hasBit(ctx.autoclear, AUTOCLEAR_BITMAPS)) return null;
  const d = r.read(offset, 24, 'bitmaps_ext: Could not read ext header');
  const nbBitmaps = d.readUInt32BE(0);
  const reserved = d.readUInt32BE(4);
  const dirSize = d.readBigUInt64BE(8);
  const dirOffset = d.readBigUInt64BE(16);
  if (reserved !== 0) throw new HeaderError('bitmaps_ext: Reserved field is not zero');
  if (nbBitmaps > QCOW2_MAX_BITMAPS) {
    throw new HeaderError(`bitmaps_ext: Image has ${nbBitmaps} bitmaps, exceeding the QEMU supported maximum of ${QCOW2_MAX_BITMAPS}`);
  }
  if (nbBitmaps === 0) throw new HeaderError('found bitmaps extension with zero bitmaps');
  if (dirOffset % BigInt(ctx.clusterSize) !== 0n) throw new HeaderError('bitmaps_ext: invalid bitmap directory offset');
  if (dirSize > BigInt(QCOW2_MAX_BITMAP_DIRECTORY_SIZE)) {
    throw new HeaderError(
      `bitmaps_ext: bitmap directory size (${dirSize}) exceeds the maximum supported size (${QCOW2_MAX_BITMAP_DIRECTORY_SIZE})`,
    );
  }
  return { nbBitmaps, dirSize, dirOffset };
}

/** bitmap_list_load(): reads and checks the bitmap directory. */
export function loadBitmapList(r: ZeroFillReader, ext: BitmapsExt, clusterSize: number, length: bigint): Bitmap[] {
  if (ext.dirSize === 0n) throw new HeaderError('Requested bitmap directory size is zero');
  if (ext.dirSize > BigInt(QCOW2_MAX_BITMAP_DIRECTORY_SIZE)) throw new HeaderError('Requested bitmap directory size is too big');
  if (ext.dirSize > BigInt(MAX_READ)) {
    throw new HeaderError(
      `The bitmap directory (${ext.dirSize} bytes) is larger than the ${MAX_READ} bytes this tool reads`,
      'unsupported-feature',
    );
  }
  const size = Number(ext.dirSize);
  const dir = r.read(ext.dirOffset, size, 'Failed to read bitmap directory');
  const list: Bitmap[] = [];
  let pos = 0;
  let count = 0;
  const broken = (): HeaderError => new HeaderError('Broken bitmap directory');
  // Every entry is at least 24 bytes (or the walk stops): at most 87 Ki turns for 2 MiB.
  while (pos < size) {
    if (pos + 24 > size) throw broken();
    if (++count > ext.nbBitmaps) throw new HeaderError('More bitmaps found than specified in header extension');
    const tableOffset = dir.readBigUInt64BE(pos);
    const tableSize = dir.readUInt32BE(pos + 8);
    const flags = dir.readUInt32BE(pos + 12);
    const type = dir[pos + 16]!;
    const granularityBits = dir[pos + 17]!;
    const nameSize = dir.readUInt16BE(pos + 18);
    const extraDataSize = dir.readUInt32BE(pos + 20);
    // calc_dir_entry_size() computes in a C int: mirror its wrap-around.
    const entrySize = ((((24 + nameSize + extraDataSize) | 0) + 7) & ~7) | 0;
    const next = pos + entrySize;
    if (next > size) throw broken();
    if (extraDataSize !== 0) throw new HeaderError('Bitmap extra data is not supported');
    const name = dir.subarray(pos + 24, Math.min(pos + 24 + nameSize, size));
    const phys = BigInt(tableSize) * BigInt(clusterSize);
    const bad =
      tableSize === 0 ||
      tableOffset === 0n ||
      tableOffset % BigInt(clusterSize) !== 0n ||
      tableSize > BME_MAX_TABLE_SIZE ||
      granularityBits > BME_MAX_GRANULARITY_BITS ||
      granularityBits < BME_MIN_GRANULARITY_BITS ||
      (flags & BME_RESERVED_FLAGS) !== 0 ||
      nameSize > BME_MAX_NAME_SIZE ||
      type !== 1 ||
      phys > BME_MAX_PHYS_SIZE ||
      ((flags & BME_FLAG_IN_USE) === 0 && length > (phys * 8n) << BigInt(granularityBits));
    if (bad) throw new HeaderError(`Bitmap '${qemuText(name)}' doesn't satisfy the constraints`);
    list.push({ name: Buffer.from(name), tableOffset, tableSize, flags, granularityBits });
    if (next <= pos) throw broken(); // cannot happen once extra_data_size is 0; keeps the loop finite
    pos = next;
  }
  if (count !== ext.nbBitmaps) throw new HeaderError('Less bitmaps found than specified in header extension');
  return list;
}

/** qcow2_load_dirty_bitmaps() at open: creates each bitmap and loads the consistent ones. */
export function loadDirtyBitmaps(r: ZeroFillReader, list: Bitmap[], clusterSize: number, length: bigint): void {
  const seen = new Set<string>();
  for (const bm of list) {
    const key = cString(bm.name).toString('hex');
    const inUse = (bm.flags & BME_FLAG_IN_USE) !== 0;
    if (inUse && seen.has(key)) continue;
    const label = qemuText(bm.name);
    if (seen.has(key)) throw new HeaderError(`Bitmap already exists: ${label}`);
    seen.add(key);
    if (inUse) continue; // data unusable: qemu does not load it
    // bitmap_table_load()
    const tableBytes = bm.tableSize * 8;
    const tableMsg = `Could not read bitmap_table table from image for bitmap '${label}'`;
    r.check(bm.tableOffset, tableBytes, tableMsg);
    if (tableBytes <= BITMAP_TABLE_READ_LIMIT) {
      const table = r.read(bm.tableOffset, tableBytes, tableMsg);
      for (let i = 0; i < bm.tableSize; i++) {
        const entry = table.readBigUInt64BE(i * 8);
        const off = entry & BME_TABLE_ENTRY_OFFSET_MASK;
        if ((entry & BME_TABLE_ENTRY_RESERVED_MASK) !== 0n || (off !== 0n && ((entry & 1n) !== 0n || off % BigInt(clusterSize) !== 0n))) {
          throw new HeaderError(`${tableMsg}: Invalid argument`);
        }
      }
    }
    // load_bitmap_data(): the table must have exactly the clusters the serialized bitmap needs.
    let bytes = 0n;
    if (length > 0n) bytes = ((((length - 1n) >> BigInt(bm.granularityBits)) >> 6n) + 1n) * 8n;
    const cs = BigInt(clusterSize);
    const tabSize = (bytes + cs - 1n) / cs;
    if (tabSize !== BigInt(bm.tableSize) || tabSize > BigInt(BME_MAX_TABLE_SIZE)) {
      throw new HeaderError(`Could not read bitmap '${label}' from image: Invalid argument`);
    }
  }
}

export function bitmapInfo(list: Bitmap[]): unknown[] {
  return list.map((bm) => {
    const flags: string[] = [];
    if (bm.flags & BME_FLAG_IN_USE) flags.push('in-use');
    if (bm.flags & BME_FLAG_AUTO) flags.push('auto');
    return { name: qemuText(bm.name), granularity: 2 ** bm.granularityBits, flags };
  });
}
