// VMDK: hosted sparse extents (`KDMV`, with an embedded text descriptor), the old VMFS sparse
// header (`COWD`), and plain text descriptor files naming FLAT / SPARSE / VMFS / VMFSSPARSE /
// SESPARSE extents. Follows what qemu 7.2's vmdk_open() accepts and refuses, with its wording.
//
// Reads past the end of the file see zeros, as bdrv_pread() gives qemu; a request qemu's block
// layer refuses (offset beyond 2^63 - 2^30) fails with "Input/output error" as it does there.
//
// A descriptor file's extents live in other files. parse() sees only this file, so it reports
// what the descriptor says; vmdkResolveExtents() opens the extents (through a callback) and
// refines sizes, cluster sizes and errors exactly as qemu does after opening them.
import { qemuJoin } from '../names.js';
import type { HeaderInfo } from '../../../../shared/model.js';
import { HeaderError, type ImageSource } from '../source.js';
import { bdrvLength, bdrvRefuses, headBytes, preadZ as bdrvPread } from './common/block-reads.js';
import { BDRV_MAX_LENGTH, INT64_MAX, U64 } from './common/limits.js';
import { exact as num } from './common/numbers.js';
import type { FormatModule, ParsedImage } from './types.js';

const VMDK3_MAGIC = 0x434f5744; // 'COWD'
const VMDK4_MAGIC = 0x4b444d56; // 'KDMV'
const VMDK4_COMPRESSION_DEFLATE = 1;
const VMDK4_FLAG_RGD = 1 << 1;
const VMDK4_GD_AT_END = 0xffffffffffffffffn;
const MARKER_END_OF_STREAM = 0;
const MARKER_FOOTER = 3;

const DESC_SIZE = 20 * 512;
/** vmdk_read_desc() reads at most this much of a descriptor. */
const MAX_DESC = (1 << 20) - 1;
/** qemu opens one file per extent; real descriptors have a handful. */
const MAX_EXTENTS = 1024;
const PATH_MAX = 4096;

const EXTENT_TYPES = ['FLAT', 'SPARSE', 'VMFS', 'VMFSSPARSE', 'SESPARSE'];
const DESC_CREATE_TYPES = ['monolithicFlat', 'vmfs', 'vmfsSparse', 'seSparse', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'];

// ---------------------------------------------------------------------------------------------
// Bounded reads with qemu's semantics

/** bdrv_pread(): zero-filled past EOF, EIO for requests the block layer refuses. */
function preadZ(src: ImageSource, offset: bigint, length: number, what: string): Buffer {
  return bdrvPread(src, offset, length, what, `${what}: Input/output error`);
}

/** Whether bdrv_pread() would accept the request (the data itself is not needed). */
function checkRequest(offset: bigint, length: bigint, what: string): void {
  if (bdrvRefuses(offset, length)) throw new HeaderError(`${what}: Input/output error`);
}

/** uint64 -> int64 as C converts it. */
function toInt64(v: bigint): bigint {
  return v > INT64_MAX ? v - (1n << 64n) : v;
}

/** Length of the C string starting at `from` (up to the first NUL or the end). */
function cEnd(buf: Buffer, from = 0): number {
  const i = buf.indexOf(0, from);
  return i < 0 ? buf.length : i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

// ---------------------------------------------------------------------------------------------
// qemu's probe

function vmdkProbe(src: ImageSource): number {
  if (src.size === 0) return 0;
  // qemu probes the first 2048 bytes, zero-padded when the file is shorter.
  const buf = headBytes(src, 2048);
  const magic = buf.readUInt32BE(0);
  if (magic === VMDK3_MAGIC || magic === VMDK4_MAGIC) return 100;
  const end = buf.length;
  let p = 0;
  while (p < end) {
    const c = buf[p]!;
    if (c === 0x23 /* # */) {
      while (p < end && buf[p] !== 0x0a) p++;
      p++;
      continue;
    }
    if (c === 0x20) {
      while (p < end && buf[p] === 0x20) p++;
      if (p < end && buf[p] === 0x0d) p++;
      if (p === end || buf[p] !== 0x0a) return 0;
      p++;
      continue;
    }
    for (const v of ['1', '2', '3']) {
      if (end - p >= 10 && buf.toString('latin1', p, p + 10) === `version=${v}\n`) return 100;
      if (end - p >= 11 && buf.toString('latin1', p, p + 11) === `version=${v}\r\n`) return 100;
    }
    return 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// State: what BDRVVmdkState ends up holding

interface Extent {
  access: string;
  /** Sectors as qemu holds them (descriptor count for flat, header capacity for sparse). */
  sectors: bigint;
  /** The descriptor's type word; null for the image's own sparse extent (qemu leaves it NULL). */
  type: string | null;
  /** The name as written in the descriptor; null when the extent is the image file itself. */
  rawName: Buffer | null;
  flatOffset: bigint | null;
  flat: boolean;
  compressed: boolean;
  clusterSectors: bigint;
  /** False while a sparse extent's own header has not been read (descriptor values only). */
  resolved: boolean;
  /** The extent header's fields, once read. */
  header: Record<string, string | number | boolean | null>;
}

interface State {
  createType: string | null;
  extents: Extent[];
  descOffset: bigint;
  embeddedDescriptor: boolean;
  header: Record<string, string | number | boolean | null>;
}

interface Vmdk4Header {
  version: number;
  flags: number;
  capacity: bigint;
  granularity: bigint;
  descOffset: bigint;
  descSize: bigint;
  numGtesPerGt: number;
  rgdOffset: bigint;
  gdOffset: bigint;
  grainOffset: bigint;
  compressAlgorithm: number;
}

/** Parse VMDK4Header from a buffer holding the 4-byte magic followed by the header. */
function vmdk4Header(b: Buffer, at: number): Vmdk4Header {
  return {
    version: b.readUInt32LE(at + 4),
    flags: b.readUInt32LE(at + 8),
    capacity: b.readBigUInt64LE(at + 12),
    granularity: b.readBigUInt64LE(at + 20),
    descOffset: b.readBigUInt64LE(at + 28),
    descSize: b.readBigUInt64LE(at + 36),
    numGtesPerGt: b.readUInt32LE(at + 44),
    rgdOffset: b.readBigUInt64LE(at + 48),
    gdOffset: b.readBigUInt64LE(at + 56),
    grainOffset: b.readBigUInt64LE(at + 64),
    compressAlgorithm: b.readUInt16LE(at + 77),
  };
}

function headerFields(h: Vmdk4Header): Record<string, string | number | boolean | null> {
  return {
    version: h.version,
    flags: h.flags,
    capacity: num(h.capacity),
    granularity: num(h.granularity),
    desc_offset: num(h.descOffset),
    desc_size: num(h.descSize),
    num_gtes_per_gt: h.numGtesPerGt,
    rgd_offset: num(h.rgdOffset),
    gd_offset: num(h.gdOffset),
    grain_offset: num(h.grainOffset),
    compress_algorithm: h.compressAlgorithm,
  };
}

/** vmdk_add_extent()'s checks for sparse extents, and vmdk_init_tables()'s reads. */
function checkSparseTables(
  clusterSectors: bigint,
  l1Size: bigint,
  entrySize: bigint,
  l1Offset: bigint,
  l1BackupOffset: bigint,
  what: string,
): void {
  if (clusterSectors > 0x200000n) throw new HeaderError('Invalid granularity, image may be corrupt');
  if (l1Size > 32n * 1024n * 1024n) throw new HeaderError('L1 size too big');
  const bytes = l1Size * entrySize;
  checkRequest(l1Offset, bytes, `Could not read l1 table from extent '${what}'`);
  if (l1BackupOffset) checkRequest(l1BackupOffset, bytes, `Could not read l1 backup table from extent '${what}'`);
}

/** vmdk_read_desc(): the first min(size, 1 MiB - 1) bytes at `offset`, as a C string. */
function readDesc(src: ImageSource, offset: bigint): Buffer {
  const length = bdrvLength(src.size);
  if (length < 4) throw new HeaderError('File is too small, not a valid image');
  const size = Math.min(length, MAX_DESC);
  let buf: Buffer;
  try {
    buf = preadZ(src, offset, size, 'Could not read from file');
  } catch (e) {
    if (e instanceof HeaderError && e.message.endsWith('Input/output error')) {
      throw new HeaderError('Could not read from file: Input/output error');
    }
    throw e;
  }
  return buf.subarray(0, cEnd(buf));
}

/**
 * vmdk_open_vmdk4() for `file`. `nested` is true for an extent named by a descriptor: qemu
 * would then treat a capacity-0 header with a descriptor offset as yet another descriptor on the
 * same node, which we do not follow.
 */
function openVmdk4(file: ImageSource, st: State, self: boolean, name: string, imageSize: number): Extent | 'descriptor' {
  const raw = preadZ(file, 0n, 80, `Could not read header from file '${name}'`);
  let h = vmdk4Header(raw, 0);
  if (h.capacity === 0n && h.descOffset !== 0n) {
    if (!self) {
      throw new HeaderError(
        `extent '${name}' holds another descriptor (capacity 0, descriptor at sector ${h.descOffset}); not followed`,
        'unsupported-feature',
      );
    }
    const buf = readDesc(file, (h.descOffset << 9n) & U64);
    st.header = headerFields(h);
    st.embeddedDescriptor = true;
    openDescFile(buf, st);
    return 'descriptor';
  }
  if (!st.createType) st.createType = 'monolithicSparse';

  const fields = headerFields(h);
  if (h.gdOffset === VMDK4_GD_AT_END) {
    // The footer takes precedence: 1536 bytes ending 512 bytes before the end (rounded up).
    // qemu takes "the end" from the image it opened (the descriptor, for an extent of one).
    const totalBytes = BigInt(bdrvLength(imageSize));
    let f: Buffer;
    try {
      f = preadZ(file, totalBytes - 1536n, 1536, 'Failed to read footer');
    } catch (e) {
      if (e instanceof HeaderError) throw new HeaderError('Failed to read footer: Input/output error');
      throw e;
    }
    if (
      f.readUInt32BE(512) !== VMDK4_MAGIC ||
      f.readUInt32LE(8) !== 0 ||
      f.readUInt32LE(12) !== MARKER_FOOTER ||
      f.readBigUInt64LE(1024) !== 0n ||
      f.readUInt32LE(1032) !== 0 ||
      f.readUInt32LE(1036) !== MARKER_END_OF_STREAM
    ) {
      throw new HeaderError('Invalid footer');
    }
    h = vmdk4Header(f, 512);
    fields.footer = true;
    Object.assign(fields, Object.fromEntries(Object.entries(headerFields(h)).map(([k, v]) => [`footer_${k}`, v])));
  }

  const compressed = h.compressAlgorithm === VMDK4_COMPRESSION_DEFLATE;
  if (h.version > 3) throw new HeaderError(`Unsupported VMDK version ${h.version}`, 'unsupported-feature');
  if (h.numGtesPerGt > 512) throw new HeaderError('L2 table size too big');
  // uint32_t l1_entry_sectors = num_gtes_per_gt * granularity (64-bit product, truncated)
  const l1EntrySectors = (BigInt(h.numGtesPerGt) * h.granularity) & 0xffffffffn;
  if (l1EntrySectors === 0n) throw new HeaderError('L1 entry size is invalid');
  const l1Size = (((h.capacity + l1EntrySectors - 1n) & U64) / l1EntrySectors) & 0xffffffffn;
  const l1BackupOffset = h.flags & VMDK4_FLAG_RGD ? toInt64((h.rgdOffset << 9n) & U64) : 0n;
  const nbSectors = BigInt(Math.ceil(file.size / 512));
  if (nbSectors < h.grainOffset) {
    throw new HeaderError(`File truncated, expecting at least ${toInt64((h.grainOffset * 512n) & U64)} bytes`);
  }
  checkSparseTables(h.granularity, l1Size, 4n, toInt64((h.gdOffset << 9n) & U64), l1BackupOffset, name);
  if (compressed) st.createType = 'streamOptimized';
  return {
    access: 'RW',
    sectors: toInt64(h.capacity),
    type: null,
    rawName: null,
    flatOffset: null,
    flat: false,
    compressed,
    clusterSectors: h.granularity,
    resolved: true,
    header: fields,
  };
}

/** vmdk_open_vmfs_sparse(): the VMDK3 ("COWD") header. */
function openVmfsSparse(file: ImageSource, name: string): Extent {
  const b = preadZ(file, 0n, 44, `Could not read header from file '${name}'`);
  const diskSectors = BigInt(b.readUInt32LE(12));
  const granularity = BigInt(b.readUInt32LE(16));
  const l1dirOffset = BigInt(b.readUInt32LE(20));
  const l1dirSize = BigInt(b.readUInt32LE(24));
  checkSparseTables(granularity, l1dirSize, 4n, l1dirOffset << 9n, 0n, name);
  return {
    access: 'RW',
    sectors: diskSectors,
    type: null,
    rawName: null,
    flatOffset: null,
    flat: false,
    compressed: false,
    clusterSectors: granularity,
    resolved: true,
    header: {
      version: b.readUInt32LE(4),
      flags: b.readUInt32LE(8),
      disk_sectors: Number(diskSectors),
      granularity: Number(granularity),
      l1dir_offset: Number(l1dirOffset),
      l1dir_size: Number(l1dirSize),
      file_sectors: b.readUInt32LE(28),
    },
  };
}

/** vmdk_open_se_sparse(): the ESXi seSparse const and volatile headers. */
function openSeSparse(file: ImageSource, name: string): Extent {
  const c = preadZ(file, 0n, 512, `Could not read const header from file '${name}'`);
  const q = (i: number) => c.readBigUInt64LE(i * 8);
  const magic = q(0);
  const hex = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;
  if (magic !== 0xcafebaben) throw new HeaderError(`Bad const header magic: ${hex(magic)}`);
  if (q(1) !== 0x0000000200000001n) throw new HeaderError(`Unsupported version: ${hex(q(1))}`, 'unsupported-feature');
  if (q(3) !== 8n) throw new HeaderError(`Unsupported grain size: ${q(3)}`, 'unsupported-feature');
  if (q(4) !== 64n) throw new HeaderError(`Unsupported grain table size: ${q(4)}`, 'unsupported-feature');
  if (q(5) !== 0n) throw new HeaderError(`Unsupported flags: ${hex(q(5))}`, 'unsupported-feature');
  if (q(6) || q(7) || q(8) || q(9)) {
    throw new HeaderError(`Unsupported reserved bits: ${hex(q(6))} ${hex(q(7))} ${hex(q(8))} ${hex(q(9))}`, 'unsupported-feature');
  }
  if (c.subarray(208, 512).some((x) => x !== 0)) {
    throw new HeaderError('Unsupported non-zero const header padding', 'unsupported-feature');
  }
  const volOffset = (q(10) * 512n) & U64;
  const v = preadZ(file, toInt64(volOffset), 512, `Could not read volatile header from file '${name}'`);
  const vmagic = v.readBigUInt64LE(0);
  if (vmagic !== 0xcafecafen) throw new HeaderError(`Bad volatile header magic: ${hex(vmagic)}`);
  if (v.readBigUInt64LE(24)) {
    throw new HeaderError('Image is dirty, Replaying journal not supported', 'unsupported-feature');
  }
  if (v.subarray(32, 512).some((x) => x !== 0)) {
    throw new HeaderError('Unsupported non-zero volatile header padding', 'unsupported-feature');
  }
  const capacity = q(2);
  const gdOffset = (q(16) * 512n) & U64;
  const l1Size = (((q(17) * 512n) & U64) / 8n) & 0xffffffffn;
  checkSparseTables(8n, l1Size, 8n, toInt64(gdOffset), 0n, name);
  return {
    access: 'RW',
    sectors: toInt64(capacity),
    type: null,
    rawName: null,
    flatOffset: null,
    flat: false,
    compressed: false,
    clusterSectors: 8n,
    resolved: true,
    header: { capacity: num(capacity), grain_dir_offset: num(q(16)), grain_dir_size: num(q(17)) },
  };
}

// ---------------------------------------------------------------------------------------------
// The text descriptor

/** vmdk_parse_description(): the value of `name="..."` (qemu skips any two characters). */
function descValue(desc: Buffer, name: string, bufSize: number): Buffer | null {
  const at = desc.indexOf(name, 0, 'latin1');
  if (at < 0) return null;
  const start = at + name.length + 2;
  if (start >= desc.length) return null;
  const q = desc.indexOf(0x22, start);
  if (q < 0 || bufSize < q - start + 1) return null;
  return desc.subarray(start, q);
}

/**
 * glibc sscanf(p, "%10s %lld %10s \"%511[^\n\r\"]\" %lld") on the descriptor, starting at `p`
 * and free to run across lines as sscanf does. Scanning tables keep every call cheap.
 */
class ExtentScanner {
  private readonly nextNonSpace: Int32Array;
  private readonly digitEnd: Int32Array;
  private readonly nonZero: Int32Array;
  constructor(private readonly s: Buffer) {
    const n = s.length;
    this.nextNonSpace = new Int32Array(n + 1);
    this.digitEnd = new Int32Array(n + 1);
    this.nonZero = new Int32Array(n + 1);
    this.nextNonSpace[n] = n;
    this.digitEnd[n] = n;
    this.nonZero[n] = n;
    for (let i = n - 1; i >= 0; i--) {
      const c = s[i]!;
      this.nextNonSpace[i] = isSpace(c) ? this.nextNonSpace[i + 1]! : i;
      this.digitEnd[i] = c >= 0x30 && c <= 0x39 ? this.digitEnd[i + 1]! : i;
      this.nonZero[i] = c === 0x30 ? this.nonZero[i + 1]! : i;
    }
  }

  private str(p: number, width: number): [string, number] | null {
    p = this.nextNonSpace[p]!;
    if (p >= this.s.length) return null;
    let e = p;
    while (e < this.s.length && e - p < width && !isSpace(this.s[e]!)) e++;
    return [this.s.toString('latin1', p, e), e];
  }

  private int64(p: number): [bigint, number] | null {
    p = this.nextNonSpace[p]!;
    if (p >= this.s.length) return null;
    let neg = false;
    if (this.s[p] === 0x2b || this.s[p] === 0x2d) {
      neg = this.s[p] === 0x2d;
      p++;
    }
    const end = this.digitEnd[p]!;
    if (end === p) return null;
    const nz = Math.min(this.nonZero[p]!, end);
    let v: bigint;
    if (end - nz > 19) {
      v = 1n << 64n;
    } else {
      v = nz === end ? 0n : BigInt(this.s.toString('latin1', nz, end));
    }
    if (neg) v = -v;
    if (v > INT64_MAX) v = INT64_MAX;
    if (v < -(1n << 63n)) v = -(1n << 63n);
    return [v, end];
  }

  scan(p: number): { matches: number; access: string; sectors: bigint; type: string; fname: Buffer; flatOffset: bigint } {
    const r = { matches: 0, access: '', sectors: 0n, type: '', fname: Buffer.alloc(0), flatOffset: -1n };
    const a = this.str(p, 10);
    if (!a) {
      r.matches = -1;
      return r;
    }
    [r.access, p] = a;
    r.matches = 1;
    const sec = this.int64(p);
    if (!sec) return r;
    [r.sectors, p] = sec;
    r.matches = 2;
    const t = this.str(p, 10);
    if (!t) return r;
    [r.type, p] = t;
    r.matches = 3;
    p = this.nextNonSpace[p]!;
    if (p >= this.s.length || this.s[p] !== 0x22) return r;
    p++;
    let e = p;
    while (e < this.s.length && e - p < 511) {
      const c = this.s[e]!;
      if (c === 0x0a || c === 0x0d || c === 0x22) break;
      e++;
    }
    if (e === p) return r;
    r.fname = Buffer.from(this.s.subarray(p, e));
    r.matches = 4;
    p = e;
    if (p >= this.s.length || this.s[p] !== 0x22) return r;
    p++;
    const off = this.int64(p);
    if (!off) return r;
    r.flatOffset = off[0];
    r.matches = 5;
    return r;
  }
}

/** vmdk_parse_extents(). */
function parseExtents(desc: Buffer, st: State): void {
  const scanner = new ExtentScanner(desc);
  let p = 0;
  while (p < desc.length) {
    const nl = desc.indexOf(0x0a, p);
    const next = nl < 0 ? desc.length : nl + 1;
    const m = scanner.scan(p);
    const lineAt = p;
    p = next;
    if (m.matches < 4 || m.access !== 'RW') continue;
    let flatOffset = m.flatOffset;
    let invalid = false;
    if (m.type === 'FLAT') {
      if (m.matches !== 5 || flatOffset < 0n) invalid = true;
    } else if (m.type === 'VMFS') {
      if (m.matches === 4) flatOffset = 0n;
      else invalid = true;
    } else if (m.matches !== 4) {
      invalid = true;
    }
    if (invalid) {
      const end = nl < 0 ? desc.length : nl;
      throw new HeaderError(`Invalid extent line: ${desc.toString('utf8', lineAt, end)}`);
    }
    if (m.sectors <= 0n || !EXTENT_TYPES.includes(m.type)) continue;
    if (st.extents.length >= MAX_EXTENTS) {
      throw new HeaderError(`descriptor names more than ${MAX_EXTENTS} extents`, 'unsupported-feature');
    }
    const flat = m.type === 'FLAT' || m.type === 'VMFS';
    st.extents.push({
      access: m.access,
      sectors: m.sectors,
      type: m.type,
      rawName: m.fname,
      flatOffset: flat ? flatOffset : null,
      flat,
      compressed: false,
      // Until the extent is opened: VMware's and qemu's default grain (128 sectors, 4 KiB for seSparse).
      clusterSectors: flat ? m.sectors : m.type === 'SESPARSE' ? 8n : 128n,
      resolved: flat,
      header: {},
    });
  }
}

/** vmdk_open_desc_file(). */
function openDescFile(desc: Buffer, st: State): void {
  const ct = descValue(desc, 'createType', 128);
  if (!ct) throw new HeaderError('invalid VMDK image descriptor');
  const createType = ct.toString('utf8');
  if (!DESC_CREATE_TYPES.includes(createType)) {
    throw new HeaderError(`Unsupported image type '${createType}'`, 'unsupported-feature');
  }
  st.createType = createType;
  st.descOffset = 0n;
  parseExtents(desc, st);
}

/** vmdk_parent_open(): the parentFileNameHint, from the first 10 KiB of the descriptor. */
function parentName(src: ImageSource, descOffset: bigint): Buffer | null {
  const buf = Buffer.alloc(DESC_SIZE + 1);
  preadZ(src, descOffset, DESC_SIZE, 'Could not read descriptor').copy(buf, 0);
  const limit = cEnd(buf);
  const at = buf.subarray(0, limit).indexOf('parentFileNameHint', 0, 'latin1');
  if (at < 0) return null;
  const p = at + 'parentFileNameHint'.length + 2;
  const end = p < buf.length ? cEnd(buf, p) : p;
  const q = p < buf.length ? buf.subarray(p, end).indexOf(0x22) : -1;
  if (q < 0) throw new HeaderError('Invalid argument: parentFileNameHint has no closing quote');
  if (q > PATH_MAX - 1) throw new HeaderError(`Invalid argument: parentFileNameHint is longer than ${PATH_MAX - 1} bytes`);
  return Buffer.from(buf.subarray(p, p + q));
}

/** vmdk_read_cid(): sscanf("%x") after the first "CID=" or "parentCID=". */
function readCid(src: ImageSource, descOffset: bigint, parent: boolean): number {
  const buf = preadZ(src, descOffset, DESC_SIZE, 'Could not read descriptor');
  buf[DESC_SIZE - 1] = 0;
  const s = buf.subarray(0, cEnd(buf));
  const key = parent ? 'parentCID' : 'CID';
  const at = s.indexOf(key, 0, 'latin1');
  const what = parent ? 'parentCID' : 'CID';
  if (at < 0) throw new HeaderError(`Invalid argument: the VMDK descriptor has no ${what}`);
  let p = at + key.length + 1;
  while (p < s.length && isSpace(s[p]!)) p++;
  let neg = false;
  if (p < s.length && (s[p] === 0x2b || s[p] === 0x2d)) {
    neg = s[p] === 0x2d;
    p++;
  }
  const hexAt = (i: number) => i < s.length && /[0-9a-fA-F]/.test(String.fromCharCode(s[i]!));
  if (p + 1 < s.length && s[p] === 0x30 && (s[p + 1] === 0x78 || s[p + 1] === 0x58) && hexAt(p + 2)) p += 2;
  const start = p;
  while (hexAt(p)) p++;
  if (p === start) throw new HeaderError(`Invalid argument: the VMDK descriptor's ${what} is not a hex number`);
  const digits = s.toString('latin1', start, p).replace(/^0+/, '');
  let v = digits.length > 16 ? U64 : digits ? BigInt(`0x${digits}`) : 0n;
  if (v > U64) v = U64;
  if (neg) v = ((1n << 64n) - v) & U64;
  return Number(v & 0xffffffffn);
}

// ---------------------------------------------------------------------------------------------
// Building the result

function extentFields(st: State): Record<string, string | number | boolean | null> {
  const f: Record<string, string | number | boolean | null> = { extent_count: st.extents.length };
  st.extents.forEach((e, i) => {
    const k = `extent${i}_`;
    f[`${k}access`] = e.access;
    f[`${k}sectors`] = num(e.sectors);
    f[`${k}type`] = e.type;
    f[`${k}filename`] = e.rawName ? e.rawName.toString('utf8') : null;
    f[`${k}filename_hex`] = e.rawName ? e.rawName.toString('hex') : null;
    f[`${k}self`] = e.rawName === null;
    f[`${k}offset`] = e.flatOffset === null ? null : num(e.flatOffset);
    f[`${k}flat`] = e.flat;
    f[`${k}compressed`] = e.compressed;
    f[`${k}cluster_sectors`] = num(e.clusterSectors);
    f[`${k}resolved`] = e.resolved;
    for (const [hk, hv] of Object.entries(e.header)) f[`${k}header_${hk}`] = hv;
  });
  return f;
}

function build(st: State, cid: number, parentCid: number, parent: Buffer | null): ParsedImage {
  if (st.extents.length === 0) {
    // qemu-img asserts in vmdk_co_get_info() and aborts on such an image.
    throw new HeaderError('the VMDK descriptor names no usable extent (qemu-img aborts on it)');
  }
  let total = 0n;
  for (const e of st.extents) total = toInt64((total + e.sectors) & U64);
  // bdrv_refresh_total_sectors(): total_sectors * 512 in unsigned 64-bit arithmetic.
  if (((total * 512n) & U64) > BDRV_MAX_LENGTH) {
    throw new HeaderError('Could not refresh total sector count: File too large');
  }
  // qemu opens it, but bdrv_getlength() fails, and with it qemu-img info.
  if (total < 0n || total > INT64_MAX / 512n) throw new HeaderError("Can't get image size: File too large");
  const bytes = total * 512n;
  const e0 = st.extents[0]!;
  const sameKind = st.extents.every(
    (e) => e.flat === e0.flat && e.compressed === e0.compressed && (e0.flat || e.clusterSectors === e0.clusterSectors),
  );
  const fields: Record<string, string | number | boolean | null> = {
    ...st.header,
    embedded_descriptor: st.embeddedDescriptor,
    create_type: st.createType,
    cid,
    parent_cid: parentCid,
    parent_file_name_hint: parent ? parent.toString('utf8') : null,
    desc_offset_used: num(st.descOffset),
    ...extentFields(st),
  };
  const header: HeaderInfo = {
    format: 'vmdk',
    virtualSize: num(bytes),
    clusterSize: sameKind && !e0.flat ? Number(e0.clusterSectors * 512n) : null,
    encrypted: false,
    dirty: false,
    fields,
    extensions: [],
    formatSpecific: null,
  };
  const parsed: ParsedImage = {
    header,
    backing: parent && parent.length > 0 ? { raw: parent, format: null } : null,
    dataFile: null,
    problems: [],
  };
  const extra: Record<string, unknown> = {};
  // qemu records "vmdk" as the backing format itself (libvirt probes instead: format null here).
  if (parsed.backing) extra['backing-filename-format'] = 'vmdk';
  // When the extents differ in kind, bdrv_get_info() fails and qemu-img prints neither
  // cluster-size nor dirty-flag: an undefined value drops the key from the JSON.
  if (!sameKind) extra['dirty-flag'] = undefined;
  if (Object.keys(extra).length) parsed.qemuExtra = extra;
  header.formatSpecific = vmdkFormatSpecific(parsed, '');
  return parsed;
}

function stateFromFile(src: ImageSource): { st: State; cid: number; parentCid: number; parent: Buffer | null } {
  if (src.size === 0) throw new HeaderError('File is too small, not a valid image');
  const st: State = { createType: null, extents: [], descOffset: 0n, embeddedDescriptor: false, header: {} };
  const magic = src.size < 4 ? 0 : src.head.readUInt32BE(0);
  if (magic === VMDK4_MAGIC || magic === VMDK3_MAGIC) {
    const name = 'image';
    const e = magic === VMDK4_MAGIC ? openVmdk4(src, st, true, name, src.size) : openVmfsSparse(src, name);
    if (e !== 'descriptor') {
      st.header = e.header;
      e.header = {};
      st.extents.push(e);
    }
    st.descOffset = 0x200n;
  } else {
    openDescFile(readDesc(src, 0n), st);
  }
  st.header.image_file_size = src.size;
  const parent = parentName(src, st.descOffset);
  const cid = readCid(src, st.descOffset, false);
  const parentCid = readCid(src, st.descOffset, true);
  return { st, cid, parentCid, parent };
}

// ---------------------------------------------------------------------------------------------
// Exports

export const vmdk: FormatModule = {
  name: 'vmdk',
  probe: vmdkProbe,
  parse(src: ImageSource): ParsedImage {
    const { st, cid, parentCid, parent } = stateFromFile(src);
    return build(st, cid, parentCid, parent);
  },
  extentFiles: vmdkExtentFiles,
  openExtents: vmdkResolveExtents,
  specificInfo: vmdkFormatSpecific,
};

function extentsOf(parsed: ParsedImage): Array<{
  self: boolean;
  name: string;
  raw: Buffer;
  type: string | null;
  sectors: bigint;
  flat: boolean;
  compressed: boolean;
  clusterSectors: number;
}> {
  const f = parsed.header.fields;
  const n = typeof f.extent_count === 'number' ? f.extent_count : 0;
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = `extent${i}_`;
    const hex = f[`${k}filename_hex`];
    out.push({
      self: f[`${k}self`] === true,
      name: typeof f[`${k}filename`] === 'string' ? (f[`${k}filename`] as string) : '',
      raw: typeof hex === 'string' ? Buffer.from(hex, 'hex') : Buffer.alloc(0),
      type: typeof f[`${k}type`] === 'string' ? (f[`${k}type`] as string) : null,
      sectors: BigInt(String(f[`${k}sectors`] ?? 0)),
      flat: f[`${k}flat`] === true,
      compressed: f[`${k}compressed`] === true,
      clusterSectors: Number(f[`${k}cluster_sectors`]),
    });
  }
  return out;
}

/**
 * The extent files qemu opens besides the image itself, as written in the descriptor, one entry
 * per extent line (a file named twice is opened, and counted, twice). Empty for a monolithic
 * sparse or stream-optimized image: its extent is the image file, and qemu does not read the
 * extent lines of a descriptor embedded in a sparse header.
 *
 * qemu's actual-size for a vmdk is the allocated size of the image file plus the allocated size
 * of each of these extents' files (resolved like qemu: absolute names as they are, others joined
 * to the folder of the image as opened).
 */
export function vmdkExtents(parsed: ParsedImage): string[] {
  return extentsOf(parsed)
    .filter((e) => !e.self)
    .map((e) => e.name);
}

/**
 * The names of the extent files qemu opens besides the image itself, as the descriptor's bytes
 * (see vmdkExtents), each file once: a name written twice is one file to label.
 */
export function vmdkExtentFiles(parsed: ParsedImage): Buffer[] {
  const out = new Map<string, Buffer>();
  for (const e of extentsOf(parsed)) if (!e.self) out.set(e.raw.toString('hex'), e.raw);
  return [...out.values()];
}

/**
 * qemu-img's `format-specific` object for a parsed vmdk opened under the name `filename` (the
 * extent file names qemu prints depend on it). parse() fills header.formatSpecific with the
 * value for an empty name: the image's own extent is called '' and other extents keep their
 * names as written.
 */
export function vmdkFormatSpecific(parsed: ParsedImage, filename: string): unknown {
  const f = parsed.header.fields;
  const extents = extentsOf(parsed).map((e) => {
    const info: Record<string, unknown> = {
      // int64 virtual_size = sectors * BDRV_SECTOR_SIZE, an unsigned product (exact past 2^53).
      'virtual-size': num(toInt64((e.sectors * 512n) & U64)),
      filename: e.self ? filename : qemuJoin(filename, e.name),
      format: e.type ?? '',
    };
    if (!e.flat) info['cluster-size'] = e.clusterSectors * 512;
    if (e.compressed) info.compressed = true;
    return info;
  });
  return {
    type: 'vmdk',
    data: {
      cid: f.cid,
      'parent-cid': f.parent_cid,
      'create-type': f.create_type ?? '',
      extents,
    },
  };
}

/**
 * Open the extents of a descriptor as qemu does, refining what parse() could only take from the
 * descriptor: each sparse extent's capacity, grain and compression come from its own header, and
 * what qemu refuses in an extent makes the whole image refused. `open` gets the extent name as
 * written (resolve it like qemu: see vmdkExtents) and returns a source, or null when the file
 * does not exist. Returns a new ParsedImage; throws HeaderError where qemu would fail to open.
 */
export function vmdkResolveExtents(
  parsed: ParsedImage,
  open: (name: string, raw: Buffer, index: number) => ImageSource | null,
): ParsedImage {
  const f = parsed.header.fields;
  const st: State = {
    createType: typeof f.create_type === 'string' ? f.create_type : null,
    extents: [],
    descOffset: BigInt(Number(f.desc_offset_used ?? 0)),
    embeddedDescriptor: f.embedded_descriptor === true,
    header: {},
  };
  for (const [k, v] of Object.entries(f)) {
    if (!/^(extent|embedded_descriptor|create_type|cid|parent_cid|parent_file_name_hint|desc_offset_used)/.test(k)) {
      st.header[k] = v;
    }
  }
  const list = extentsOf(parsed);
  list.forEach((e, i) => {
    const k = `extent${i}_`;
    const base: Extent = {
      access: String(f[`${k}access`] ?? 'RW'),
      sectors: BigInt(String(f[`${k}sectors`])),
      type: e.type,
      rawName: e.self ? null : e.raw,
      flatOffset: f[`${k}offset`] === null || f[`${k}offset`] === undefined ? null : BigInt(String(f[`${k}offset`])),
      flat: e.flat,
      compressed: e.compressed,
      clusterSectors: BigInt(String(f[`${k}cluster_sectors`])),
      resolved: f[`${k}resolved`] === true,
      header: {},
    };
    if (e.self) {
      st.extents.push(base);
      return;
    }
    const file = open(e.name, e.raw, i);
    if (!file) throw new HeaderError(`Could not open '${e.name}': No such file or directory`);
    if (e.flat) {
      st.extents.push(base);
      return;
    }
    let ext: Extent;
    if (e.type === 'SESPARSE') {
      ext = openSeSparse(file, e.name);
    } else {
      if (file.size === 0) throw new HeaderError('File is too small, not a valid image');
      const magic = file.size < 4 ? 0 : file.head.readUInt32BE(0);
      if (magic === VMDK3_MAGIC) ext = openVmfsSparse(file, e.name);
      else if (magic === VMDK4_MAGIC) {
        const r = openVmdk4(file, st, false, e.name, Number(f.image_file_size ?? file.size));
        if (r === 'descriptor') throw new HeaderError('nested descriptor', 'unsupported-feature');
        ext = r;
      } else throw new HeaderError('Image not in VMDK format');
    }
    st.extents.push({ ...ext, access: base.access, type: e.type, rawName: e.raw, resolved: true });
  });
  const parent = parsed.backing ? parsed.backing.raw : typeof f.parent_file_name_hint === 'string' ? Buffer.alloc(0) : null;
  return build(st, Number(f.cid), Number(f.parent_cid), parent);
}
