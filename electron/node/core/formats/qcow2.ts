// qcow2 (versions 2 and 3): header, extensions, bitmap directory and the embedded LUKS header,
// validated in the order qemu 7.2's qcow2_do_open() does, with qemu's own error wording.
//
// Reads follow qemu's block layer: bytes past the end of the file read as zeros (a truncated
// header is judged on zeros, exactly as qemu judges it), and requests beyond BDRV_MAX_LENGTH fail
// with "Input/output error". Every read goes through ImageSource, so it is bounded.
//
// Helpers shared with qcow.ts and qed.ts live here too (ZeroFillReader, name helpers).
import type { HeaderInfo, Problem, Qcow2Extension } from '../../../../shared/model.js';
import { HeaderError, MAX_READ, type ImageSource } from '../source.js';
import type { ChildName, FormatModule, ParsedImage } from './types.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const U64_MASK = (1n << 64n) - 1n;
const INT64_MAX = (1n << 63n) - 1n;
const INT_MAX = 0x7fffffff;
/** qemu's BDRV_MAX_LENGTH: no request may reach past it (QEMU_ALIGN_DOWN(INT64_MAX, 1 GiB)). */
const BDRV_MAX_LENGTH = INT64_MAX - (INT64_MAX % (1n << 30n));
const CHUNK = 4096;

/** A 64-bit value for `fields`: a number when exact, else its decimal text (never rounded). */
export function exact(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** A 64-bit size that must become a number; refuses (rather than rounds) above 2^53. */
export function safeSize(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new HeaderError(`${what} ${v} is larger than 2^53 bytes and cannot be shown exactly`, 'unsupported-feature');
  }
  return Number(v);
}

/**
 * Reads like qemu's block layer over a regular file: the part inside the file is read through the
 * ImageSource (cached in 4 KiB chunks, the first one being `src.head`), the rest is zeros. A request
 * qemu would refuse (reaching past BDRV_MAX_LENGTH) throws `<ioMessage>: Input/output error`.
 */
export class ZeroFillReader {
  private readonly chunks = new Map<number, Buffer>();

  constructor(readonly src: ImageSource) {
    if (src.head.length === Math.min(src.size, CHUNK)) this.chunks.set(0, src.head);
  }

  /** Throws as qemu does for a request it refuses before doing any I/O. */
  check(offset: bigint, length: number, ioMessage: string): void {
    if (offset < 0n || offset > BDRV_MAX_LENGTH - BigInt(length)) {
      throw new HeaderError(`${ioMessage}: Input/output error`);
    }
  }

  read(offset: bigint | number, length: number, ioMessage: string): Buffer {
    if (!Number.isSafeInteger(length) || length < 0) throw new HeaderError(`${ioMessage}: invalid length ${length}`);
    const off = BigInt(offset);
    this.check(off, length, ioMessage);
    if (length > MAX_READ) throw new HeaderError(`${ioMessage}: ${length} bytes is larger than ${MAX_READ}`, 'unsupported-feature');
    const out = Buffer.alloc(length);
    if (length === 0 || off >= BigInt(this.src.size)) return out;
    const start = Number(off);
    const end = Math.min(start + length, this.src.size);
    this.load(start, end, ioMessage);
    let pos = start;
    while (pos < end) {
      const idx = Math.floor(pos / CHUNK);
      const chunk = this.chunks.get(idx);
      if (!chunk) throw new Error('ZeroFillReader: chunk not loaded');
      const inChunk = pos - idx * CHUNK;
      const n = Math.min(chunk.length - inChunk, end - pos);
      if (n <= 0) break;
      chunk.copy(out, pos - start, inChunk, inChunk + n);
      pos += n;
    }
    return out;
  }

  private load(start: number, end: number, what: string): void {
    const first = Math.floor(start / CHUNK);
    const last = Math.floor((end - 1) / CHUNK);
    const maxRun = Math.floor(MAX_READ / CHUNK);
    let i = first;
    while (i <= last) {
      if (this.chunks.has(i)) {
        i++;
        continue;
      }
      let j = i;
      while (j <= last && j - i < maxRun && !this.chunks.has(j)) j++;
      const runStart = i * CHUNK;
      const runEnd = Math.min(j * CHUNK, this.src.size);
      const buf = this.src.read(runStart, runEnd - runStart, what);
      for (let k = i; k < j; k++) {
        this.chunks.set(k, buf.subarray((k - i) * CHUNK, Math.min((k - i + 1) * CHUNK, buf.length)));
      }
      i = j;
    }
  }
}

/** The bytes of a C string: up to the first NUL. */
export function cString(b: Uint8Array): Buffer {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const i = buf.indexOf(0);
  return i < 0 ? buf : buf.subarray(0, i);
}

const MIN_CP = [0x80, 0x800, 0x10000, 0x200000, 0x4000000];

/** qemu's mod_utf8_codepoint(): [codepoint or -1, index after the sequence]. */
function modUtf8(b: Uint8Array, s: number): [number, number] {
  let p = s;
  let byte = p < b.length ? b[p]! : 0;
  p++;
  let cp: number;
  if (byte < 0x80) {
    cp = byte;
  } else if (byte >= 0xfe || (byte & 0x40) === 0) {
    cp = -1;
  } else {
    let len = 0;
    let mask = 0x80;
    for (; byte & mask; mask >>= 1) len++;
    cp = byte & (mask - 1);
    for (let i = 1; i < len; i++) {
      byte = p < b.length ? b[p]! : 0;
      if ((byte & 0xc0) !== 0x80) return [-1, p];
      p++;
      cp = cp * 64 + (byte & 0x3f);
    }
    if (cp > 0x10ffff) cp = -1;
    else if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) cp = -1;
    else if (cp >= 0xd800 && cp <= 0xdfff) cp = -1;
    else if (cp < MIN_CP[len - 2]! && !(cp === 0 && len === 2)) cp = -1;
  }
  return [cp, p];
}

/**
 * The string qemu-img's JSON shows for these bytes: the C string (up to the first NUL), each
 * invalid (modified) UTF-8 sequence replaced by U+FFFD, as qemu's JSON writer does.
 */
export function qemuText(bytes: Uint8Array): string {
  const s = cString(bytes);
  // Nearly every name is ASCII: nothing to decode or replace.
  let ascii = true;
  for (let i = 0; i < s.length && ascii; i++) ascii = s[i]! < 0x80;
  if (ascii) return s.toString('latin1');
  let out = '';
  let p = 0;
  while (p < s.length && s[p] !== 0) {
    const [cp, next] = modUtf8(s, p);
    out += String.fromCodePoint(cp < 0 ? 0xfffd : cp);
    p = next > p ? next : p + 1;
  }
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** What is wrong with a file name's bytes (NUL, invalid UTF-8), as short phrases; [] when clean. */
export function nameIssues(raw: Uint8Array): string[] {
  const issues: string[] = [];
  const nul = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf(0);
  if (nul >= 0) issues.push(`contains a NUL byte at offset ${nul} (qemu uses only the ${nul} bytes before it)`);
  try {
    strictUtf8.decode(raw);
  } catch {
    issues.push('is not valid UTF-8');
  }
  return issues;
}

/**
 * How qemu reads a length-delimited name into a C buffer: the bytes up to the first NUL count.
 * Returns the child (raw = exact header bytes) or null when qemu sees no name, plus problems.
 */
export function childFromName(
  raw: Buffer,
  format: string | null,
  label: string,
  opts: { pastEof?: boolean; emptyIsProblem?: boolean } = {},
): { child: ChildName | null; problems: Problem[] } {
  const problems: Problem[] = [];
  const effective = cString(raw);
  if (raw.length === 0) {
    if (opts.emptyIsProblem) problems.push({ code: 'bad-name', message: `The ${label} name is empty` });
    return { child: null, problems };
  }
  if (opts.pastEof) {
    problems.push({
      code: 'bad-name',
      message: `The ${label} name (${raw.length} bytes) lies past the end of the file; qemu reads zeros there and sees no ${label}`,
    });
    return { child: null, problems };
  }
  if (effective.length === 0) {
    problems.push({
      code: 'bad-name',
      message: `The ${label} name (${raw.length} bytes) starts with a NUL byte; qemu sees an empty name and no ${label}`,
    });
    return { child: null, problems };
  }
  const issues = nameIssues(raw);
  if (issues.length) problems.push({ code: 'bad-name', message: `The ${label} name ${issues.join(' and ')}` });
  return { child: { raw: Buffer.from(raw), format }, problems };
}

// ---------------------------------------------------------------------------------------------
// qcow2
// ---------------------------------------------------------------------------------------------

export const QCOW_MAGIC = 0x514649fb; // "QFI\xfb"

const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_TABLE = 0x6803f857;
const EXT_CRYPTO_HEADER = 0x0537be77;
const EXT_BITMAPS = 0x23852875;
const EXT_DATA_FILE = 0x44415441;

const EXTENSION_NAMES: Record<number, string> = {
  [EXT_BACKING_FORMAT]: 'backing-format',
  [EXT_FEATURE_TABLE]: 'feature-table',
  [EXT_CRYPTO_HEADER]: 'crypto-header',
  [EXT_BITMAPS]: 'bitmaps',
  [EXT_DATA_FILE]: 'data-file',
};

const INCOMPAT_DIRTY = 1n << 0n;
const INCOMPAT_CORRUPT = 1n << 1n;
const INCOMPAT_DATA_FILE = 1n << 2n;
const INCOMPAT_COMPRESSION = 1n << 3n;
const INCOMPAT_EXTL2 = 1n << 4n;
const INCOMPAT_MASK = 0x1fn;
const COMPAT_LAZY_REFCOUNTS = 1n << 0n;
const AUTOCLEAR_BITMAPS = 1n << 0n;
const AUTOCLEAR_DATA_FILE_RAW = 1n << 1n;

const CRYPT_NONE = 0;
const CRYPT_AES = 1;
const CRYPT_LUKS = 2;

const QCOW_MAX_REFTABLE_SIZE = 8n * 1024n * 1024n;
const QCOW_MAX_L1_SIZE = 32n * 1024n * 1024n;
const QCOW_MAX_SNAPSHOTS = 65536n;
const SNAPSHOT_HEADER_SIZE = 40n;
const QCOW_MAX_SNAPSHOT_EXTRA_DATA = 1024;
const QCOW_MAX_SNAPSHOTS_SIZE = 1024 * 65536;
const QCOW2_MAX_BITMAPS = 65535;
const QCOW2_MAX_BITMAP_DIRECTORY_SIZE = 1024 * QCOW2_MAX_BITMAPS;
/** Bitmap tables larger than this are not read (their entries are not checked). */
const BITMAP_TABLE_READ_LIMIT = 1024 * 1024;

interface BitmapsExt {
  nbBitmaps: number;
  dirSize: bigint;
  dirOffset: bigint;
}

interface ExtState {
  extensions: Qcow2Extension[];
  backingFormat: Buffer | null;
  dataFileName: Buffer | null;
  featureTable: Buffer | null;
  crypto: { offset: bigint; length: bigint } | null;
  /** qemu-img's `encrypt` object for the LUKS header the crypto extension points to. */
  encrypt: Record<string, unknown> | null;
  bitmaps: BitmapsExt | null;
}

interface ExtContext {
  cryptMethod: number;
  clusterSize: number;
  autoclear: bigint;
}

/**
 * qcow2_read_extensions(): walks [start, end). Throws qemu's message on a broken extension; when
 * `lenient` (the feature-table pass qemu makes for unknown incompatible bits, errors ignored) it
 * stops at the first error instead and returns what it collected.
 */
function readExtensions(r: ZeroFillReader, start: number, end: number, ctx: ExtContext, lenient: boolean): ExtState {
  const st: ExtState = {
    extensions: [],
    backingFormat: null,
    dataFileName: null,
    featureTable: null,
    crypto: null,
    encrypt: null,
    bitmaps: null,
  };
  let offset = start;
  // Each turn advances by at least 8 bytes and end <= 2 MiB: at most 256 Ki turns.
  while (offset < end) {
    try {
      // qemu reads the 8-byte header first, then checks it fits (the type-0 marker included).
      if (offset + 8 > end) throw new HeaderError('Header extension too large');
      const hdr = r.read(offset, 8, `qcow2_read_extension: ERROR: pread fail from offset ${offset}`);
      const type = hdr.readUInt32BE(0);
      const len = hdr.readUInt32BE(4);
      offset += 8;
      if (len > end - offset) throw new HeaderError('Header extension too large');
      if (type === EXT_END) return st;
      switch (type) {
        case EXT_BACKING_FORMAT:
          if (len >= 16) throw new HeaderError(`ERROR: ext_backing_format: len=${len} too large (>=16)`);
          st.backingFormat = r.read(offset, len, 'ERROR: ext_backing_format: Could not read format name');
          break;
        case EXT_FEATURE_TABLE:
          st.featureTable = r.read(offset, len, 'ERROR: ext_feature_table: Could not read table');
          break;
        case EXT_CRYPTO_HEADER: {
          if (ctx.cryptMethod !== CRYPT_LUKS) {
            throw new HeaderError('CRYPTO header extension only expected with LUKS encryption method');
          }
          if (len !== 16) throw new HeaderError(`CRYPTO header extension size ${len}, but expected size 16`);
          const d = r.read(offset, 16, 'Unable to read CRYPTO header extension');
          const cOffset = d.readBigUInt64BE(0);
          const cLength = d.readBigUInt64BE(8);
          if (cOffset % BigInt(ctx.clusterSize) !== 0n) {
            throw new HeaderError(
              `Encryption header offset '${cOffset}' is not a multiple of cluster size '${ctx.clusterSize}'`,
            );
          }
          st.crypto = { offset: cOffset, length: cLength };
          // qcrypto_block_open() right here; the LUKS header is read through
          // qcow2_crypto_hdr_read_func(), which stays inside the extension's length.
          if (BigInt(LUKS_HEADER_SIZE) > cLength) throw new HeaderError('Request for data outside of extension header');
          st.encrypt = luksInfo(r.read(cOffset, LUKS_HEADER_SIZE, 'Could not read encryption header'));
          break;
        }
        case EXT_BITMAPS: {
          if (len !== 24) throw new HeaderError('bitmaps_ext: Invalid extension length');
          // Without the autoclear bit, qemu warns that a program without bitmap support touched the
          // image and ignores the extension.
          if ((ctx.autoclear & AUTOCLEAR_BITMAPS) === 0n) break;
          const d = r.read(offset, 24, 'bitmaps_ext: Could not read ext header');
          const nbBitmaps = d.readUInt32BE(0);
          const reserved = d.readUInt32BE(4);
          const dirSize = d.readBigUInt64BE(8);
          const dirOffset = d.readBigUInt64BE(16);
          if (reserved !== 0) throw new HeaderError('bitmaps_ext: Reserved field is not zero');
          if (nbBitmaps > QCOW2_MAX_BITMAPS) {
            throw new HeaderError(
              `bitmaps_ext: Image has ${nbBitmaps} bitmaps, exceeding the QEMU supported maximum of ${QCOW2_MAX_BITMAPS}`,
            );
          }
          if (nbBitmaps === 0) throw new HeaderError('found bitmaps extension with zero bitmaps');
          if (dirOffset % BigInt(ctx.clusterSize) !== 0n) throw new HeaderError('bitmaps_ext: invalid bitmap directory offset');
          if (dirSize > BigInt(QCOW2_MAX_BITMAP_DIRECTORY_SIZE)) {
            throw new HeaderError(
              `bitmaps_ext: bitmap directory size (${dirSize}) exceeds the maximum supported size (${QCOW2_MAX_BITMAP_DIRECTORY_SIZE})`,
            );
          }
          st.bitmaps = { nbBitmaps, dirSize, dirOffset };
          break;
        }
        case EXT_DATA_FILE:
          st.dataFileName = r.read(offset, len, 'ERROR: Could not read data file name');
          break;
        default:
          break;
      }
      st.extensions.push({ type, name: EXTENSION_NAMES[type] ?? 'unknown', length: len });
      offset += Math.ceil(len / 8) * 8;
    } catch (e) {
      if (lenient && e instanceof HeaderError) return st;
      throw e;
    }
  }
  return st;
}

/** report_unsupported_feature(): names from the feature table, then the remaining mask in hex. */
function unsupportedFeatureMessage(table: Buffer | null, mask: bigint): string {
  const features: string[] = [];
  if (table) {
    // qemu appends two zeroed entries and stops at the first entry with an empty name.
    const t = Buffer.concat([table, Buffer.alloc(96)]);
    for (let p = 0; p + 48 <= t.length; p += 48) {
      if (t[p + 2] === 0) break;
      const type = t[p]!;
      const bit = BigInt(t[p + 1]! & 63); // x86-64 masks the shift count
      if (type === 0 && (mask & (1n << bit)) !== 0n) {
        features.push(qemuText(t.subarray(p + 2, p + 48)));
        mask &= ~(1n << bit);
      }
    }
  }
  if (mask !== 0n) features.push(`Unknown incompatible feature: ${mask.toString(16)}`);
  return `Unsupported qcow2 feature(s): ${features.join(', ')}`;
}

/** qcow2_validate_table() */
function validateTable(
  offset: bigint,
  entries: bigint,
  entryLen: bigint,
  maxBytes: bigint,
  clusterSize: number,
  name: string,
): void {
  if (entries > maxBytes / entryLen) throw new HeaderError(`${name} too large`);
  if (INT64_MAX - entries * entryLen < offset || offset % BigInt(clusterSize) !== 0n) {
    throw new HeaderError(`${name} offset invalid`);
  }
}

/** qcow2_read_snapshots(): only the sizes and reads qemu makes; the snapshots are not kept. */
function checkSnapshotTable(r: ZeroFillReader, offset0: bigint, nb: number): void {
  let offset = offset0;
  let tableLength = 0;
  for (let i = 0; i < nb; i++) {
    tableLength = Math.ceil(tableLength / 8) * 8;
    offset = (offset + 7n) & ~7n;
    const h = r.read(offset, 40, 'Failed to read snapshot table');
    offset += 40n;
    const idStrSize = h.readUInt16BE(12);
    const nameSize = h.readUInt16BE(14);
    const extraDataSize = h.readUInt32BE(36);
    if (extraDataSize > QCOW_MAX_SNAPSHOT_EXTRA_DATA) {
      throw new HeaderError(
        `Too much extra metadata in snapshot table entry ${i}\nYou can force-remove this extra metadata with qemu-img check -r all`,
      );
    }
    const known = Math.min(16, extraDataSize);
    r.check(offset, known, 'Failed to read snapshot table');
    offset += BigInt(known);
    if (extraDataSize > 16) {
      r.check(offset, extraDataSize - 16, 'Failed to read snapshot table');
      offset += BigInt(extraDataSize - 16);
    }
    r.check(offset, idStrSize, 'Failed to read snapshot table');
    offset += BigInt(idStrSize);
    r.check(offset, nameSize, 'Failed to read snapshot table');
    offset += BigInt(nameSize);
    tableLength += 40 + extraDataSize + idStrSize + nameSize;
    if (tableLength > QCOW_MAX_SNAPSHOTS_SIZE || offset - offset0 > BigInt(INT_MAX)) {
      throw new HeaderError(
        `Snapshot table is too big\nYou can force-remove all ${nb - i} overhanging snapshots with qemu-img check -r all`,
      );
    }
  }
}

// --- bitmaps (qcow2-bitmap.c) ------------------------------------------------------------------

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

interface Bitmap {
  name: Buffer;
  tableOffset: bigint;
  tableSize: number;
  flags: number;
  granularityBits: number;
}

/** bitmap_list_load(): reads and checks the bitmap directory. */
function loadBitmapList(r: ZeroFillReader, ext: BitmapsExt, clusterSize: number, length: bigint): Bitmap[] {
  if (ext.dirSize === 0n) throw new HeaderError('Requested bitmap directory size is zero');
  if (ext.dirSize > BigInt(QCOW2_MAX_BITMAP_DIRECTORY_SIZE)) throw new HeaderError('Requested bitmap directory size is too big');
  if (ext.dirSize > BigInt(MAX_READ)) {
    throw new HeaderError(`The bitmap directory (${ext.dirSize} bytes) is larger than the ${MAX_READ} bytes this tool reads`, 'unsupported-feature');
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
      ((flags & BME_FLAG_IN_USE) === 0 && length > ((phys * 8n) << BigInt(granularityBits)));
    if (bad) throw new HeaderError(`Bitmap '${qemuText(name)}' doesn't satisfy the constraints`);
    list.push({ name: Buffer.from(name), tableOffset, tableSize, flags, granularityBits });
    if (next <= pos) throw broken(); // cannot happen once extra_data_size is 0; keeps the loop finite
    pos = next;
  }
  if (count !== ext.nbBitmaps) throw new HeaderError('Less bitmaps found than specified in header extension');
  return list;
}

/** qcow2_load_dirty_bitmaps() at open: creates each bitmap and loads the consistent ones. */
function loadDirtyBitmaps(r: ZeroFillReader, list: Bitmap[], clusterSize: number, length: bigint): void {
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
        if (
          (entry & BME_TABLE_ENTRY_RESERVED_MASK) !== 0n ||
          (off !== 0n && ((entry & 1n) !== 0n || off % BigInt(clusterSize) !== 0n))
        ) {
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

function bitmapInfo(list: Bitmap[]): unknown[] {
  return list.map((bm) => {
    const flags: string[] = [];
    if (bm.flags & BME_FLAG_IN_USE) flags.push('in-use');
    if (bm.flags & BME_FLAG_AUTO) flags.push('auto');
    return { name: qemuText(bm.name), granularity: 2 ** bm.granularityBits, flags };
  });
}

// --- LUKS header inside qcow2 (crypto/block-luks.c, opened with QCRYPTO_BLOCK_OPEN_NO_IO) ---------

const LUKS_MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]);
const LUKS_HEADER_SIZE = 592;
const LUKS_KEY_SLOT_ENABLED = 0x00ac71f3;
const LUKS_KEY_SLOT_DISABLED = 0x0000dead;
const HASH_DIGEST: Record<string, number> = {
  md5: 16,
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  ripemd160: 20,
};
const CIPHER_MODES = ['ecb', 'cbc', 'xts', 'ctr'];
const IVGENS = ['plain', 'plain64', 'essiv'];
const CIPHER_SIZES: Record<string, number[]> = {
  aes: [16, 24, 32],
  cast5: [16],
  serpent: [16, 24, 32],
  twofish: [16, 24, 32],
};

function cStringAt(b: Buffer, start: number): string {
  const end = b.indexOf(0, start);
  return b.subarray(start, end < 0 ? b.length : end).toString('latin1');
}

/** qcrypto_block_luks_{load,check,parse}_header() and _get_info(): the `encrypt` object. */
function luksInfo(h: Buffer): Record<string, unknown> {
  if (!h.subarray(0, 6).equals(LUKS_MAGIC)) throw new HeaderError('Volume is not in LUKS format');
  const version = h.readUInt16BE(6);
  if (version !== 1) throw new HeaderError(`LUKS version ${version} is not supported`, 'unsupported-feature');
  const payloadSector = h.readUInt32BE(104);
  const keyBytes = h.readUInt32BE(108);
  const masterKeyIters = h.readUInt32BE(164);
  const slots = [];
  for (let i = 0; i < 8; i++) {
    const p = 208 + i * 48;
    slots.push({ active: h.readUInt32BE(p), iters: h.readUInt32BE(p + 4), keyOffset: h.readUInt32BE(p + 40), stripes: h.readUInt32BE(p + 44) });
  }
  // Key material length in sectors, as qemu computes it (32-bit products, rounded to 8 sectors).
  const keySectors = (stripes: number): number => {
    const splitKeyLen = Math.imul(keyBytes, stripes) >>> 0;
    const sectors = Math.ceil(splitKeyLen / 512);
    return (Math.ceil(sectors / 8) * 8) >>> 0;
  };
  for (let i = 0; i < 8; i++) {
    const s1 = slots[i]!;
    const len1 = keySectors(s1.stripes);
    if (s1.stripes !== 4000) throw new HeaderError(`Keyslot ${i} is corrupted (stripes ${s1.stripes | 0} != 4000)`);
    if (s1.active !== LUKS_KEY_SLOT_DISABLED && s1.active !== LUKS_KEY_SLOT_ENABLED) {
      throw new HeaderError(`Keyslot ${i} state (active/disable) is corrupted`);
    }
    if (((s1.keyOffset + len1) >>> 0) > payloadSector) {
      throw new HeaderError(`Keyslot ${i} is overlapping with the encrypted payload`);
    }
    for (let j = i + 1; j < 8; j++) {
      const s2 = slots[j]!;
      const len2 = keySectors(s2.stripes);
      if (((s1.keyOffset + len1) >>> 0) > s2.keyOffset && ((s2.keyOffset + len2) >>> 0) > s1.keyOffset) {
        throw new HeaderError(`Keyslots ${i} and ${j} are overlapping in the header`);
      }
    }
  }
  const cipherName = cStringAt(h, 8);
  const cipherModeSpec = cStringAt(h, 40);
  const hashSpec = cStringAt(h, 72);
  const dash = cipherModeSpec.indexOf('-');
  if (dash < 0) throw new HeaderError(`Unexpected cipher mode string format '${cipherModeSpec}'`);
  const modeName = cipherModeSpec.slice(0, dash);
  let ivgenName = cipherModeSpec.slice(dash + 1);
  let ivHash: string | null = null;
  const colon = ivgenName.indexOf(':');
  if (colon >= 0) {
    ivHash = ivgenName.slice(colon + 1);
    ivgenName = ivgenName.slice(0, colon);
    if (!(ivHash in HASH_DIGEST)) throw new HeaderError(`Hash algorithm '${ivHash}' not supported`, 'unsupported-feature');
  }
  if (!CIPHER_MODES.includes(modeName)) throw new HeaderError(`Cipher mode '${modeName}' not supported`, 'unsupported-feature');
  const algKeyBytes = modeName === 'xts' ? Math.floor(keyBytes / 2) : keyBytes;
  const sizes = CIPHER_SIZES[cipherName];
  if (!sizes || !sizes.includes(algKeyBytes)) {
    throw new HeaderError(`Algorithm '${cipherName}' with key size ${algKeyBytes | 0} bytes not supported`, 'unsupported-feature');
  }
  const cipherAlg = `${cipherName}-${algKeyBytes * 8}`;
  if (!(hashSpec in HASH_DIGEST)) throw new HeaderError(`Hash algorithm '${hashSpec}' not supported`, 'unsupported-feature');
  if (!IVGENS.includes(ivgenName)) throw new HeaderError(`IV generator '${ivgenName}' not supported`, 'unsupported-feature');
  if (ivgenName === 'essiv') {
    if (ivHash === null) throw new HeaderError('Missing IV generator hash specification');
    const digest = HASH_DIGEST[ivHash]!;
    if (digest !== algKeyBytes) {
      const family = cipherName === 'aes' ? 'AES' : cipherName === 'serpent' ? 'Serpent' : cipherName === 'twofish' ? 'Twofish' : null;
      if (family === null) throw new HeaderError(`Cipher ${cipherAlg} not supported with essiv`, 'unsupported-feature');
      if (![16, 24, 32].includes(digest)) {
        throw new HeaderError(`No ${family} cipher with key size ${digest} available`, 'unsupported-feature');
      }
    }
  }
  const info: Record<string, unknown> = {
    format: 'luks',
    'cipher-alg': cipherAlg,
    'cipher-mode': modeName,
    'ivgen-alg': ivgenName,
  };
  if (ivgenName === 'essiv') info['ivgen-hash-alg'] = ivHash;
  info['hash-alg'] = hashSpec;
  info['payload-offset'] = payloadSector * 512;
  info['master-key-iters'] = masterKeyIters;
  info.uuid = qemuText(h.subarray(168, 208));
  info.slots = slots.map((s) =>
    s.active === LUKS_KEY_SLOT_ENABLED
      ? { active: true, iters: s.iters, stripes: s.stripes, 'key-offset': s.keyOffset * 512 }
      : { active: false, 'key-offset': s.keyOffset * 512 },
  );
  return info;
}

// --- the module ----------------------------------------------------------------------------------

function probe(src: ImageSource): number {
  const h = Buffer.alloc(8);
  src.head.copy(h, 0, 0, Math.min(8, src.head.length));
  return h.readUInt32BE(0) === QCOW_MAGIC && h.readUInt32BE(4) >= 2 ? 100 : 0;
}

function parse(src: ImageSource): ParsedImage {
  const r = new ZeroFillReader(src);
  // sizeof(QCowHeader) is 112: qemu reads that much, zeros past the end of the file.
  const h = r.read(0, 112, 'Could not read qcow2 header');
  if (h.readUInt32BE(0) !== QCOW_MAGIC) throw new HeaderError('Image is not in qcow2 format');
  const version = h.readUInt32BE(4);
  if (version < 2 || version > 3) throw new HeaderError(`Unsupported qcow2 version ${version}`, 'unsupported-feature');

  const backingFileOffset = h.readBigUInt64BE(8);
  const backingFileSize = h.readUInt32BE(16);
  const clusterBits = h.readUInt32BE(20);
  const size = h.readBigUInt64BE(24);
  const cryptMethod = h.readUInt32BE(32);
  const l1Size = h.readUInt32BE(36);
  const l1TableOffset = h.readBigUInt64BE(40);
  const refcountTableOffset = h.readBigUInt64BE(48);
  const refcountTableClusters = h.readUInt32BE(56);
  const nbSnapshots = h.readUInt32BE(60);
  const snapshotsOffset = h.readBigUInt64BE(64);

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
  const extEnd = backingFileOffset !== 0n ? Number(backingFileOffset) : clusterSize;

  const compressionType = headerLength > 104 ? h[104]! : 0;
  if (compressionType > 1) throw new HeaderError(`qcow2: unknown compression type: ${compressionType}`, 'unsupported-feature');
  if (compressionType === 0 && (incompat & INCOMPAT_COMPRESSION) !== 0n) {
    throw new HeaderError('qcow2: Compression type incompatible feature bit must not be set');
  }
  if (compressionType !== 0 && (incompat & INCOMPAT_COMPRESSION) === 0n) {
    throw new HeaderError('qcow2: Compression type incompatible feature bit must be set');
  }

  const ctx: ExtContext = { cryptMethod, clusterSize, autoclear };
  const unknownIncompat = incompat & ~INCOMPAT_MASK;
  if (unknownIncompat !== 0n) {
    // qemu walks the extensions once more only for the feature-name table, ignoring errors; at
    // that point its crypt method is still 0.
    const pass = readExtensions(r, headerLength, extEnd, { ...ctx, cryptMethod: CRYPT_NONE }, true);
    throw new HeaderError(unsupportedFeatureMessage(pass.featureTable, unknownIncompat), 'unsupported-feature');
  }

  const extendedL2 = (incompat & INCOMPAT_EXTL2) !== 0n;
  const subclusterSize = extendedL2 ? clusterSize / 32 : clusterSize;
  if (subclusterSize < 512) throw new HeaderError(`Unsupported subcluster size: ${subclusterSize}`);
  if (refcountOrder > 6) throw new HeaderError('Reference count entry width too large; may not exceed 64 bits');

  if (refcountTableClusters === 0) throw new HeaderError('Image does not contain a reference count table');
  validateTable(refcountTableOffset, BigInt(refcountTableClusters), BigInt(clusterSize), QCOW_MAX_REFTABLE_SIZE, clusterSize, 'Reference count table');
  validateTable(snapshotsOffset, BigInt(nbSnapshots), SNAPSHOT_HEADER_SIZE, SNAPSHOT_HEADER_SIZE * QCOW_MAX_SNAPSHOTS, clusterSize, 'Snapshot table');
  validateTable(l1TableOffset, BigInt(l1Size), 8n, QCOW_MAX_L1_SIZE, clusterSize, 'Active L1 table');

  const l2Bits = clusterBits - (extendedL2 ? 4 : 3);
  const shift = BigInt(clusterBits + l2Bits);
  const l1VmStateIndex = ((size + (1n << shift) - 1n) & U64_MASK) >> shift;
  if (l1VmStateIndex > BigInt(INT_MAX)) throw new HeaderError('Image is too big');
  if (BigInt(l1Size) < l1VmStateIndex) throw new HeaderError('L1 table is too small');
  if (l1Size > 0) r.check(l1TableOffset, l1Size * 8, 'Could not read L1 table');

  // qcow2_update_options(): the crypt method must be one qemu knows (printed as a C int).
  if (cryptMethod !== CRYPT_NONE && cryptMethod !== CRYPT_AES && cryptMethod !== CRYPT_LUKS) {
    throw new HeaderError(`Unsupported encryption method ${cryptMethod | 0}`, 'unsupported-feature');
  }
  // qcow2_refcount_init() reads the whole refcount table.
  r.check(refcountTableOffset, refcountTableClusters * clusterSize, 'Could not initialize refcount handling');

  const ext = readExtensions(r, headerLength, extEnd, ctx, false);

  let encrypt = ext.encrypt;
  if (cryptMethod === CRYPT_LUKS && !encrypt) {
    // qemu-img info skips this check (BDRV_O_NO_IO) and then crashes; qemu proper refuses here.
    throw new HeaderError(`Missing CRYPTO header for crypt method ${cryptMethod}`);
  }
  if (cryptMethod === CRYPT_AES) encrypt = { format: 'aes' };

  // The backing file name.
  const nameProblems: Problem[] = [];
  let backingRaw: Buffer | null = null;
  let backingPastEof = false;
  if (backingFileOffset !== 0n) {
    const bfo = Number(backingFileOffset);
    if (backingFileSize > Math.min(1023, clusterSize - bfo) || backingFileSize >= 1024) {
      throw new HeaderError('Backing file name too long');
    }
    backingRaw = r.read(bfo, backingFileSize, 'Could not read backing file name');
    backingPastEof = backingFileSize > 0 && bfo + backingFileSize > src.size && cString(backingRaw).length === 0;
    if (backingFileSize > 0 && bfo < headerLength) {
      nameProblems.push({
        code: 'bad-name',
        message: `The backing file name at offset ${bfo} lies inside the ${headerLength}-byte header: qemu reads header fields as the name`,
      });
    }
  }

  if (nbSnapshots > 0) checkSnapshotTable(r, snapshotsOffset, nbSnapshots);

  const virtualSizeBig = (size / 512n) * 512n;
  let bitmaps: Bitmap[] | null = null;
  if (ext.bitmaps) {
    bitmaps = loadBitmapList(r, ext.bitmaps, clusterSize, virtualSizeBig);
    loadDirtyBitmaps(r, bitmaps, clusterSize, virtualSizeBig);
  }
  const virtualSize = safeSize(virtualSizeBig, 'The virtual size');

  // --- what qemu would use, and what is wrong ---
  const problems: Problem[] = [...nameProblems];
  const backingFormat = ext.backingFormat ? qemuText(ext.backingFormat) : '';
  let backing: ChildName | null = null;
  if (backingRaw) {
    const b = childFromName(backingRaw, backingFormat === '' ? null : backingFormat, 'backing file', { pastEof: backingPastEof });
    backing = b.child;
    problems.push(...b.problems);
  }

  const hasDataFileBit = (incompat & INCOMPAT_DATA_FILE) !== 0n;
  const dataFileRaw = (autoclear & AUTOCLEAR_DATA_FILE_RAW) !== 0n;
  let dataFile: ChildName | null = null;
  if (hasDataFileBit && ext.dataFileName) {
    const d = childFromName(ext.dataFileName, null, 'data file', { emptyIsProblem: true });
    dataFile = d.child;
    problems.push(...d.problems);
  } else if (hasDataFileBit) {
    problems.push({
      code: 'data-file-bit-without-name',
      message: 'Incompatible feature bit 2 (external data file) is set but no data-file name extension is present: qemu opens the image only when told the data file at run time',
    });
  } else if (ext.dataFileName) {
    problems.push({
      code: 'data-file-name-without-bit',
      message: `A data-file name extension ("${qemuText(ext.dataFileName)}") is present but incompatible feature bit 2 is clear: qemu ignores the name and reads guest data from this file`,
    });
  }
  if (dataFileRaw && backing) {
    problems.push({
      code: 'raw-data-file-with-backing',
      message: 'The data_file_raw bit is set together with a backing file: qemu refuses to create such an image, and writes through the raw data file bypass the backing chain',
    });
  }
  const dirty = (incompat & INCOMPAT_DIRTY) !== 0n;
  const corrupt = (incompat & INCOMPAT_CORRUPT) !== 0n;
  if (dirty) problems.push({ code: 'dirty', message: 'The dirty bit is set: the image was not closed cleanly (refcounts may need repair)' });
  if (corrupt) problems.push({ code: 'corrupt', message: 'The corrupt bit is set: qemu opens this image read-only until it is repaired' });

  // --- qemu-img's format-specific object ---
  const data: Record<string, unknown> = {
    compat: version === 2 ? '0.10' : '1.1',
    'compression-type': compressionType === 1 ? 'zstd' : 'zlib',
  };
  if (version === 3) {
    data['lazy-refcounts'] = (compat & COMPAT_LAZY_REFCOUNTS) !== 0n;
    if (bitmaps && bitmaps.length) data.bitmaps = bitmapInfo(bitmaps);
  }
  data['refcount-bits'] = 2 ** refcountOrder;
  if (version === 3) {
    if (ext.dataFileName) data['data-file'] = qemuText(ext.dataFileName);
    if (hasDataFileBit) data['data-file-raw'] = dataFileRaw;
  }
  if (encrypt) data.encrypt = encrypt;
  if (version === 3) {
    data.corrupt = corrupt;
    data['extended-l2'] = extendedL2;
  }

  const fields: HeaderInfo['fields'] = {
    version,
    backing_file_offset: exact(backingFileOffset),
    backing_file_size: backingFileSize,
    cluster_bits: clusterBits,
    size: exact(size),
    crypt_method: cryptMethod,
    l1_size: l1Size,
    l1_table_offset: exact(l1TableOffset),
    refcount_table_offset: exact(refcountTableOffset),
    refcount_table_clusters: refcountTableClusters,
    nb_snapshots: nbSnapshots,
    snapshots_offset: exact(snapshotsOffset),
    incompatible_features: exact(incompat),
    compatible_features: exact(compat),
    autoclear_features: exact(autoclear),
    refcount_order: refcountOrder,
    header_length: headerLength,
    compression_type: compressionType,
    dirty,
    corrupt,
    external_data_file: hasDataFileBit,
    compression_type_bit: (incompat & INCOMPAT_COMPRESSION) !== 0n,
    extended_l2: extendedL2,
    lazy_refcounts: (compat & COMPAT_LAZY_REFCOUNTS) !== 0n,
    bitmaps: (autoclear & AUTOCLEAR_BITMAPS) !== 0n,
    data_file_raw: dataFileRaw,
  };

  const header: HeaderInfo = {
    format: 'qcow2',
    virtualSize,
    clusterSize,
    encrypted: cryptMethod !== CRYPT_NONE,
    dirty,
    fields,
    extensions: ext.extensions,
    formatSpecific: { type: 'qcow2', data },
  };
  const qemuExtra: Record<string, unknown> = {};
  if (backing) {
    qemuExtra['backing-filename'] = qemuText(backing.raw);
    if (backing.format !== null) qemuExtra['backing-filename-format'] = backing.format;
  }
  return { header, backing, dataFile, problems, qemuExtra };
}

export const qcow2: FormatModule = { name: 'qcow2', probe, parse };
