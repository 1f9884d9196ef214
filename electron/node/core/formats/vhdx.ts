// VHDX (Hyper-V): file identifier, two CRC-32C protected headers, a region table naming the BAT
// and the metadata region, metadata items (block size, virtual size, sector sizes, parent
// locator), the BAT. Checked as qemu 7.2's vhdx_open() does, read-only (so a log that needs
// replaying makes qemu refuse, as it does for qemu-img info). qemu cannot open differencing
// VHDX files at all: a parent locator makes it fail with "Operation not supported".
import { HeaderError, READ_BUDGET, type ImageSource } from '../source.js';
import { bdrvLength, bdrvRefuses, preadZ as bdrvPread } from './common/block-reads.js';
import { BDRV_MAX_LENGTH, INT64_MAX, U64 } from './common/limits.js';
import { exact as n } from './common/numbers.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const HEADER_BLOCK = 64 * KiB;
const HEADER1_OFFSET = 64 * KiB;
const HEADER2_OFFSET = 128 * KiB;
const REGION_TABLE_OFFSET = 192 * KiB;
const HEADER_SIZE = 4 * KiB;
const METADATA_TABLE_MAX_SIZE = 32 * 2048;
const LOG_SECTOR = 4096;
const BLOCK_SIZE_MIN = MiB;
const BLOCK_SIZE_MAX = 256 * MiB;
const MAX_SECTORS_PER_BLOCK = 1n << 23n;
const BAT_STATE_MASK = 7n;
const BAT_FILE_OFF_MASK = 0xfffffffffff00000n;
const PAYLOAD_BLOCK_FULLY_PRESENT = 6n;
const PARAMS_HAS_PARENT = 2;
const META_FLAGS_IS_REQUIRED = 4;
const REGION_ENTRY_REQUIRED = 1;
/** A log bigger than this is not searched (qemu would; it needs the whole log in memory here). */
const MAX_LOG_SEARCH = 4 * MiB;

// ---------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli), as VHDX uses it: initial ~0, final xor ~0.

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Raw CRC-32C register update (no inversion). */
function crcUpdate(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  for (let i = start; i < end; i++) crc = CRC32C_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}

/** CRC-32C of `buf`, with the 4 bytes at `crcOffset` taken as zero (VHDX checksums). */
export function vhdxCrc32c(buf: Uint8Array, crcOffset = -1): number {
  let crc = 0xffffffff;
  if (crcOffset < 0) return (crcUpdate(crc, buf) ^ 0xffffffff) >>> 0;
  crc = crcUpdate(crc, buf, 0, crcOffset);
  crc = crcUpdate(crc, new Uint8Array(4));
  crc = crcUpdate(crc, buf, crcOffset + 4, buf.length);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reads

/** bdrv_pread(): zero-filled past the end of the file, EIO for impossible offsets. */
function preadZ(src: ImageSource, offset: bigint, length: number, what: string): Buffer {
  return bdrvPread(src, offset, length, what, `Input/output error (${what} at offset ${offset})`);
}

function einval(why: string): HeaderError {
  return new HeaderError(`Invalid argument: ${why}`);
}

function enotsup(why: string): HeaderError {
  return new HeaderError(`Operation not supported: ${why}`, 'unsupported-feature');
}

function guidText(b: Buffer, at: number): string {
  const d1 = b.readUInt32LE(at).toString(16).padStart(8, '0');
  const d2 = b
    .readUInt16LE(at + 4)
    .toString(16)
    .padStart(4, '0');
  const d3 = b
    .readUInt16LE(at + 6)
    .toString(16)
    .padStart(4, '0');
  const d4 = b.subarray(at + 8, at + 10).toString('hex');
  const d5 = b.subarray(at + 10, at + 16).toString('hex');
  return `${d1}-${d2}-${d3}-${d4}-${d5}`;
}

const BAT_GUID = '2dc27766-f623-4200-9d64-115e9bfd4a08';
const METADATA_GUID = '8b7ca206-4790-4b9a-b8fe-575f050f886e';
const FILE_PARAM_GUID = 'caa16737-fa36-4d43-b3b6-33f0aa44e76b';
const VIRTUAL_SIZE_GUID = '2fa54224-cd1b-4876-b211-5dbed83bf4b8';
const PAGE83_GUID = 'beca12ab-b2e6-4523-93ef-c309e000c746';
const LOGICAL_SECTOR_GUID = '8141bf1d-a96f-4709-ba47-f233a8faab5f';
const PHYS_SECTOR_GUID = 'cda348c7-445d-4471-9cc9-e9885251c556';
const PARENT_LOCATOR_GUID = 'a8d35f2d-b30b-454d-abf7-d3d84834ab0c';

interface Region {
  start: bigint;
  end: bigint;
}

/** vhdx_region_check(): [start, start+length) must not overlap a registered region. */
function regionCheck(regions: Region[], start: bigint, length: bigint, what: string): void {
  const end = (start + length) & U64;
  for (const r of regions) {
    if (!(start >= r.end || end <= r.start)) {
      throw einval(`VHDX region ${start}-${end} (${what}) overlaps with region ${r.start}-${r.end}`);
    }
  }
}

interface VhdxHeader {
  valid: boolean;
  raw: Buffer;
  seq: bigint;
  logGuid: Buffer;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: bigint;
}

function readHeader(src: ImageSource, offset: number): VhdxHeader {
  const b = preadZ(src, BigInt(offset), HEADER_SIZE, 'VHDX header');
  const crcOk = vhdxCrc32c(b, 4) === b.readUInt32LE(4);
  const h: VhdxHeader = {
    valid: false,
    raw: Buffer.from(b.subarray(0, 80)),
    seq: b.readBigUInt64LE(8),
    logGuid: Buffer.from(b.subarray(48, 64)),
    logVersion: b.readUInt16LE(64),
    version: b.readUInt16LE(66),
    logLength: b.readUInt32LE(68),
    logOffset: b.readBigUInt64LE(72),
  };
  h.valid = crcOk && b.toString('latin1', 0, 4) === 'head' && h.version === 1;
  return h;
}

/**
 * vhdx_parse_log() for a read-only open: is there a valid log entry qemu would want replayed?
 * The search follows vhdx_log_search()/vhdx_validate_log_entry() over the log held in memory.
 */
function logNeedsReplay(src: ImageSource, h: VhdxHeader): boolean {
  const length = h.logLength;
  if (length > MAX_LOG_SEARCH || length > READ_BUDGET - src.bytesRead - 2 * MiB) {
    throw new HeaderError(`the VHDX log (${length} bytes) is too large to search for entries to replay`, 'unsupported-feature');
  }
  const log = preadZ(src, h.logOffset, length, 'VHDX log');
  const sectors = length / LOG_SECTOR;
  let crcBudget = 64 * MiB;
  const sectorAt = (k: number) => log.subarray((k % sectors) * LOG_SECTOR, (k % sectors) * LOG_SECTOR + LOG_SECTOR);
  for (let k = 0; k < sectors; k++) {
    const s = sectorAt(k);
    if (s.toString('latin1', 0, 4) !== 'loge') continue;
    const entryLength = s.readUInt32LE(8);
    const seq = s.readBigUInt64LE(16);
    const descCount = s.readUInt32LE(24);
    if (length < entryLength || entryLength % LOG_SECTOR || seq === 0n) continue;
    if (!s.subarray(32, 48).equals(h.logGuid)) continue;
    if (descCount * 32 > entryLength) continue;
    let descSectors = Math.floor((descCount + 2) / 128);
    if ((descCount + 2) % 128) descSectors++;
    // Descriptors: 64-byte header then 32-byte descriptors, across desc_sectors sectors.
    const descBuf = Buffer.concat(Array.from({ length: descSectors }, (_, i) => sectorAt(k + i)));
    let ok = true;
    for (let i = 0; i < descCount && ok; i++) {
      const d = descBuf.subarray(64 + i * 32, 96 + i * 32);
      const sig = d.toString('latin1', 0, 4);
      if (d.readBigUInt64LE(24) !== seq || d.readBigUInt64LE(16) % BigInt(LOG_SECTOR)) ok = false;
      else if (sig === 'zero') ok = d.readBigUInt64LE(8) % BigInt(LOG_SECTOR) === 0n;
      else ok = sig === 'desc';
    }
    if (!ok) continue;
    const total = entryLength / LOG_SECTOR;
    crcBudget -= Math.max(total, descSectors) * LOG_SECTOR;
    if (crcBudget < 0) {
      throw new HeaderError('the VHDX log has too many candidate entries to check', 'unsupported-feature');
    }
    let crc = crcUpdate(0xffffffff, descBuf, 0, 4);
    crc = crcUpdate(crc, new Uint8Array(4));
    crc = crcUpdate(crc, descBuf, 8, descBuf.length);
    for (let i = descSectors; i < total; i++) crc = crcUpdate(crc, sectorAt(k + i));
    if ((crc ^ 0xffffffff) >>> 0 === s.readUInt32LE(4)) return true;
  }
  return false;
}

/** The parent locator's key/value pairs (only for the error message: qemu refuses the file). */
function parentLocator(src: ImageSource, at: bigint, length: number): Record<string, string> {
  const out: Record<string, string> = {};
  const b = preadZ(src, at, Math.min(length, 64 * KiB), 'VHDX parent locator');
  if (b.length < 20) return out;
  const count = b.readUInt16LE(18);
  for (let i = 0; i < count && 20 + i * 12 + 12 <= b.length; i++) {
    const e = 20 + i * 12;
    const ko = b.readUInt32LE(e);
    const vo = b.readUInt32LE(e + 4);
    const kl = b.readUInt16LE(e + 8);
    const vl = b.readUInt16LE(e + 10);
    if (ko + kl > b.length || vo + vl > b.length) continue;
    out[b.toString('utf16le', ko, ko + kl)] = b.toString('utf16le', vo, vo + vl);
  }
  return out;
}

export const vhdx: FormatModule = {
  name: 'vhdx',

  probe(src: ImageSource): number {
    return src.size > 0 && src.head.length >= 8 && src.head.toString('latin1', 0, 8) === 'vhdxfile' ? 100 : 0;
  },

  parse(src: ImageSource): ParsedImage {
    const sig = preadZ(src, 0n, 8, 'VHDX file identifier');
    if (sig.toString('latin1') !== 'vhdxfile') throw einval('no "vhdxfile" signature');
    const regions: Region[] = [];

    // Headers: the valid one with the higher sequence number.
    const h1 = readHeader(src, HEADER1_OFFSET);
    const h2 = readHeader(src, HEADER2_OFFSET);
    let cur: VhdxHeader;
    let curIndex: number;
    if (h1.valid && !h2.valid) [cur, curIndex] = [h1, 0];
    else if (!h1.valid && h2.valid) [cur, curIndex] = [h2, 1];
    else if (!h1.valid && !h2.valid) throw new HeaderError('No valid VHDX header found');
    else if (h1.seq > h2.seq) [cur, curIndex] = [h1, 0];
    else if (h2.seq > h1.seq) [cur, curIndex] = [h2, 1];
    else if (h1.raw.equals(h2.raw)) [cur, curIndex] = [h1, 0];
    else throw new HeaderError('No valid VHDX header found');
    regions.push({ start: cur.logOffset, end: (cur.logOffset + BigInt(cur.logLength)) & U64 });

    // The log: where it is, and whether it holds entries to replay.
    if (cur.logOffset < BigInt(MiB) || cur.logOffset % BigInt(MiB)) {
      throw einval(`log offset ${cur.logOffset} is not a non-zero multiple of 1 MiB`);
    }
    if (cur.logVersion !== 0) throw einval(`log version ${cur.logVersion} is not 0`);
    const logGuidZero = cur.logGuid.every((x) => x === 0);
    if (!logGuidZero && cur.logLength !== 0) {
      if (cur.logLength % MiB) throw einval(`log length ${cur.logLength} is not a multiple of 1 MiB`);
      if (logNeedsReplay(src, cur)) {
        throw new HeaderError('VHDX image file opened read-only, but contains a log that needs to be replayed');
      }
    }

    // Region table.
    const rt = preadZ(src, BigInt(REGION_TABLE_OFFSET), HEADER_BLOCK, 'VHDX region table');
    if (vhdxCrc32c(rt, 4) !== rt.readUInt32LE(4)) throw einval('region table checksum mismatch');
    if (rt.toString('latin1', 0, 4) !== 'regi') throw einval('region table signature is not "regi"');
    const rtCount = rt.readUInt32LE(8);
    if (rtCount > 2047) throw einval(`region table has ${rtCount} entries (at most 2047)`);
    let bat: { offset: bigint; length: number } | null = null;
    let meta: { offset: bigint; length: number } | null = null;
    for (let i = 0; i < rtCount; i++) {
      const e = 16 + i * 32;
      const guid = guidText(rt, e);
      const offset = rt.readBigUInt64LE(e + 16);
      const length = rt.readUInt32LE(e + 24);
      const bits = rt.readUInt32LE(e + 28);
      regionCheck(regions, offset, BigInt(length), `region table entry ${i}`);
      regions.push({ start: offset, end: (offset + BigInt(length)) & U64 });
      if (guid === BAT_GUID) {
        if (bat) throw einval('two BAT regions');
        bat = { offset, length };
      } else if (guid === METADATA_GUID) {
        if (meta) throw einval('two metadata regions');
        meta = { offset, length };
      } else if (bits & REGION_ENTRY_REQUIRED) {
        throw enotsup(`required region ${guid} is unknown`);
      }
    }
    if (!bat || !meta) throw einval(`region table lacks the ${bat ? 'metadata' : 'BAT'} region`);

    // Metadata table.
    const mt = preadZ(src, meta.offset, METADATA_TABLE_MAX_SIZE, 'VHDX metadata table');
    if (mt.toString('latin1', 0, 8) !== 'metadata') throw einval('metadata table signature is not "metadata"');
    const mtCount = mt.readUInt16LE(10);
    if (mtCount * 32 > METADATA_TABLE_MAX_SIZE - 32) throw einval(`metadata table has ${mtCount} entries`);
    const items = new Map<string, { offset: number; length: number }>();
    const known = [FILE_PARAM_GUID, VIRTUAL_SIZE_GUID, PAGE83_GUID, LOGICAL_SECTOR_GUID, PHYS_SECTOR_GUID, PARENT_LOCATOR_GUID];
    for (let i = 0; i < mtCount; i++) {
      const e = 32 + i * 32;
      const guid = guidText(mt, e);
      const item = { offset: mt.readUInt32LE(e + 16), length: mt.readUInt32LE(e + 20) };
      const bits = mt.readUInt32LE(e + 24);
      if (known.includes(guid)) {
        if (items.has(guid)) throw einval(`metadata item ${guid} appears twice`);
        items.set(guid, item);
      } else if (bits & META_FLAGS_IS_REQUIRED) {
        throw enotsup(`required metadata item ${guid} is unknown`);
      }
    }
    const at = (guid: string) => (meta.offset + BigInt(items.get(guid)!.offset)) & U64;
    const locator = items.get(PARENT_LOCATOR_GUID);
    for (const g of known.slice(0, 5)) {
      if (!items.has(g)) throw enotsup(`metadata item ${g} is missing`);
    }
    if (locator) {
      const kv = parentLocator(src, at(PARENT_LOCATOR_GUID), locator.length);
      const names = Object.entries(kv)
        .filter(([k]) => k !== 'parent_linkage' && k !== 'parent_linkage2')
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ');
      throw enotsup(`qemu cannot open differencing VHDX images${names ? ` (parent: ${names})` : ''}`);
    }
    const params = preadZ(src, at(FILE_PARAM_GUID), 8, 'VHDX file parameters');
    const blockSize = params.readUInt32LE(0);
    const paramBits = params.readUInt32LE(4);
    if (paramBits & PARAMS_HAS_PARENT) throw einval('file parameters say "has parent" but there is no parent locator');
    const vds = preadZ(src, at(VIRTUAL_SIZE_GUID), 8, 'VHDX virtual disk size').readBigUInt64LE(0);
    const lss = preadZ(src, at(LOGICAL_SECTOR_GUID), 4, 'VHDX logical sector size').readUInt32LE(0);
    const pss = preadZ(src, at(PHYS_SECTOR_GUID), 4, 'VHDX physical sector size').readUInt32LE(0);
    if (blockSize < BLOCK_SIZE_MIN || blockSize > BLOCK_SIZE_MAX) throw einval(`block size ${blockSize} is out of range`);
    // qemu 7.2 reads 512-byte logical sectors only.
    if (lss !== 512) throw enotsup(`logical sector size ${lss} (qemu reads 512 only)`);
    const sectorsPerBlock = Math.floor(blockSize / lss);
    const chunkRatio = (MAX_SECTORS_PER_BLOCK * BigInt(lss)) / BigInt(blockSize);
    if (sectorsPerBlock & (sectorsPerBlock - 1)) throw einval(`${sectorsPerBlock} sectors per block is not a power of 2`);
    if (chunkRatio & (chunkRatio - 1n)) throw einval(`chunk ratio ${chunkRatio} is not a power of 2`);
    if (blockSize & (blockSize - 1)) throw einval(`block size ${blockSize} is not a power of 2`);
    const lssBits = 9n;
    const chunkRatioBits = BigInt(chunkRatio.toString(2).length - 1);

    const totalSectors = vds >> lssBits;
    if (totalSectors * 512n > BDRV_MAX_LENGTH) throw new HeaderError('Could not refresh total sector count: File too large');
    const virtualSize = totalSectors * 512n;

    // BAT entries (uint32 arithmetic, as in vhdx_calc_bat_entries()).
    const dataBlocks = Number((((vds + BigInt(blockSize) - 1n) & U64) / BigInt(blockSize)) & 0xffffffffn);
    const batEntries = (dataBlocks + ((((dataBlocks - 1) >>> 0) >>> Number(chunkRatioBits)) >>> 0)) >>> 0;
    if (batEntries > Math.floor(bat.length / 8)) {
      throw einval(`the BAT region (${bat.length} bytes) is too small for ${batEntries} entries`);
    }
    if (bdrvRefuses(bat.offset, bat.length)) {
      throw new HeaderError(`Input/output error (VHDX BAT at offset ${bat.offset})`);
    }

    // vhdx_check_bat_entries(): fully present payload blocks must lie inside the file and clear
    // of the registered regions. Entries past the end of the file are zero (not present).
    const fileSize = BigInt(bdrvLength(src.size));
    const batInFile = bat.offset >= fileSize ? 0 : Math.min(batEntries * 8, Number(fileSize - bat.offset));
    if (batInFile > READ_BUDGET - src.bytesRead - MiB) {
      throw new HeaderError(`the VHDX BAT (${batEntries} entries) is too large to check`, 'unsupported-feature');
    }
    const batBuf = preadZ(src, bat.offset, batInFile, 'VHDX BAT');
    let payblocks = chunkRatio;
    let present = 0;
    for (let i = 0; i + 8 <= batBuf.length; i += 8) {
      const e = batBuf.readBigUInt64LE(i);
      if ((e & BAT_STATE_MASK) !== PAYLOAD_BLOCK_FULLY_PRESENT) continue;
      const idx = BigInt(i / 8);
      const offset = e & BAT_FILE_OFF_MASK;
      let blockLength = (totalSectors * 512n - idx * BigInt(blockSize)) & U64;
      if (blockLength > BigInt(blockSize)) blockLength = BigInt(blockSize);
      if (offset > INT64_MAX - BigInt(blockSize)) throw einval(`VHDX BAT entry ${idx} offset overflow.`);
      if (offset >= fileSize) {
        throw einval(
          `VHDX BAT entry ${idx} start offset ${offset} points after end of file (${fileSize}). Image has probably been truncated.`,
        );
      } else if (offset + blockLength > fileSize) {
        throw einval(
          `VHDX BAT entry ${idx} end offset ${offset + blockLength - 1n} points after end of file (${fileSize}). Image has probably been truncated.`,
        );
      }
      if (payblocks-- > 0n) {
        regionCheck(regions, offset, BigInt(blockSize), `BAT entry ${idx}`);
        present++;
      } else {
        payblocks = chunkRatio;
      }
    }

    const h = cur;
    return standalone({
      format: 'vhdx',
      virtualSize: n(virtualSize),
      clusterSize: blockSize,
      fields: {
        creator: sig.length
          ? preadZ(src, 8n, 512, 'VHDX creator')
              .toString('utf16le')
              .replace(/\0[\s\S]*$/, '')
          : '',
        current_header: curIndex + 1,
        sequence_number: n(h.seq),
        log_guid: guidText(h.logGuid, 0),
        log_version: h.logVersion,
        version: h.version,
        log_length: h.logLength,
        log_offset: n(h.logOffset),
        region_count: rtCount,
        bat_offset: n(bat.offset),
        bat_length: bat.length,
        metadata_offset: n(meta.offset),
        metadata_length: meta.length,
        metadata_count: mtCount,
        block_size: blockSize,
        leave_blocks_allocated: (paramBits & 1) !== 0,
        has_parent: false,
        virtual_disk_size: n(vds),
        logical_sector_size: lss,
        physical_sector_size: pss,
        chunk_ratio: Number(chunkRatio),
        bat_entries: batEntries,
        present_blocks: present,
      },
    });
  },
};
