// qcow2 header extensions (qcow2_read_extensions()), and the feature-name table qemu quotes when
// it refuses unknown incompatible features.
import type { Qcow2Extension } from '../../../../../shared/model.js';
import { HeaderError } from '../../source.js';
import { big } from '../common/numbers.js';
import { qemuText } from '../common/text.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';
import { readBitmapsExt, type BitmapsExt } from './bitmaps.js';
import { readCryptoExt } from './crypto.js';
import { CRYPT_NONE, INCOMPAT_MASK, type Qcow2Header } from './header.js';
import type { ExtContext } from './ext-context.js';

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

export interface ExtState {
  extensions: Qcow2Extension[];
  backingFormat: Buffer | null;
  dataFileName: Buffer | null;
  featureTable: Buffer | null;
  /** qemu-img's `encrypt` object for the LUKS header the crypto extension points to. */
  encrypt: Record<string, unknown> | null;
  bitmaps: BitmapsExt | null;
}

export type { ExtContext };

/**
 * qcow2_read_extensions(): walks [start, end). Throws qemu's message on a broken extension; when
 * `lenient` (the feature-table pass qemu makes for unknown incompatible bits, errors ignored) it
 * stops at the first error instead and returns what it collected.
 */
export function readExtensions(r: ZeroFillReader, start: number, end: number, ctx: ExtContext, lenient: boolean): ExtState {
  const st: ExtState = { extensions: [], backingFormat: null, dataFileName: null, featureTable: null, encrypt: null, bitmaps: null };
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
        case EXT_CRYPTO_HEADER:
          st.encrypt = readCryptoExt(r, offset, len, ctx);
          break;
        case EXT_BITMAPS:
          st.bitmaps = readBitmapsExt(r, offset, len, ctx);
          break;
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

/** Incompatible feature bits qemu does not know make it refuse, naming them from the table. */
export function refuseUnknownFeatures(r: ZeroFillReader, h: Qcow2Header): void {
  if (typeof h.incompat === 'number' && h.incompat <= INCOMPAT_MASK) return;
  const unknown = big(h.incompat) & ~BigInt(INCOMPAT_MASK);
  // qemu walks the extensions once more only for the feature-name table, ignoring errors; at
  // that point its crypt method is still 0.
  const ctx: ExtContext = { cryptMethod: CRYPT_NONE, clusterSize: h.clusterSize, autoclear: h.autoclear };
  const pass = readExtensions(r, h.headerLength, h.extEnd, ctx, true);
  throw new HeaderError(unsupportedFeatureMessage(pass.featureTable, unknown), 'unsupported-feature');
}
