// What a qcow2 header says, for the app (`fields`) and for qemu-img (`format-specific`, as
// qcow2_get_specific_info() builds it).
import type { HeaderInfo, Snapshot } from '../../../../../shared/model.js';
import { exact, hasBit } from '../common/numbers.js';
import { cString, qemuText } from '../common/text.js';
import { bitmapInfo, type Bitmap } from './bitmaps.js';
import type { ExtState } from './extensions.js';
import type { SnapshotEntry } from './snapshots.js';
import {
  AUTOCLEAR_BITMAPS,
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  INCOMPAT_COMPRESSION,
  INCOMPAT_CORRUPT,
  INCOMPAT_DATA_FILE,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTL2,
  type Qcow2Header,
} from './header.js';

const bit = hasBit;

/** qemu-img's format-specific data; `encrypt` is the object for the crypt method in use. */
export function specificData(
  h: Qcow2Header,
  ext: ExtState,
  bitmaps: Bitmap[] | null,
  encrypt: Record<string, unknown> | null,
): Record<string, unknown> {
  const v3 = h.version === 3;
  const data: Record<string, unknown> = {
    compat: v3 ? '1.1' : '0.10',
    'compression-type': h.compressionType === 1 ? 'zstd' : 'zlib',
  };
  if (v3) {
    data['lazy-refcounts'] = bit(h.compat, COMPAT_LAZY_REFCOUNTS);
    if (bitmaps && bitmaps.length) data.bitmaps = bitmapInfo(bitmaps);
  }
  data['refcount-bits'] = 2 ** h.refcountOrder;
  if (v3) {
    if (ext.dataFileName) data['data-file'] = qemuText(ext.dataFileName);
    if (bit(h.incompat, INCOMPAT_DATA_FILE)) data['data-file-raw'] = bit(h.autoclear, AUTOCLEAR_DATA_FILE_RAW);
  }
  if (encrypt) data.encrypt = encrypt;
  if (v3) {
    data.corrupt = bit(h.incompat, INCOMPAT_CORRUPT);
    data['extended-l2'] = bit(h.incompat, INCOMPAT_EXTL2);
  }
  return data;
}

export function headerFields(h: Qcow2Header): HeaderInfo['fields'] {
  return {
    version: h.version,
    backing_file_offset: exact(h.backingFileOffset),
    backing_file_size: h.backingFileSize,
    cluster_bits: h.clusterBits,
    size: exact(h.size),
    crypt_method: h.cryptMethod,
    l1_size: h.l1Size,
    l1_table_offset: exact(h.l1TableOffset),
    refcount_table_offset: exact(h.refcountTableOffset),
    refcount_table_clusters: h.refcountTableClusters,
    nb_snapshots: h.nbSnapshots,
    snapshots_offset: exact(h.snapshotsOffset),
    incompatible_features: exact(h.incompat),
    compatible_features: exact(h.compat),
    autoclear_features: exact(h.autoclear),
    refcount_order: h.refcountOrder,
    header_length: h.headerLength,
    compression_type: h.compressionType,
    dirty: bit(h.incompat, INCOMPAT_DIRTY),
    corrupt: bit(h.incompat, INCOMPAT_CORRUPT),
    external_data_file: bit(h.incompat, INCOMPAT_DATA_FILE),
    compression_type_bit: bit(h.incompat, INCOMPAT_COMPRESSION),
    extended_l2: bit(h.incompat, INCOMPAT_EXTL2),
    lazy_refcounts: bit(h.compat, COMPAT_LAZY_REFCOUNTS),
    bitmaps: bit(h.autoclear, AUTOCLEAR_BITMAPS),
    data_file_raw: bit(h.autoclear, AUTOCLEAR_DATA_FILE_RAW),
  };
}

/** What qemu shows of an id or name: QEMUSnapshotInfo holds 128 / 256 bytes with the NUL. */
const shown = (raw: Buffer, buffer: number): string => qemuText(cString(raw).subarray(0, buffer - 1));

export function snapshotModel(s: SnapshotEntry): Snapshot {
  return {
    id: shown(s.id, 128),
    name: shown(s.name, 256),
    idHex: s.id.toString('hex'),
    nameHex: s.name.toString('hex'),
    idSize: s.idSize,
    nameSize: s.nameSize,
    vmStateSize: exact(s.vmStateSize),
    dateSec: s.dateSec,
    dateNsec: s.dateNsec,
    vmClockNsec: exact(s.vmClockNsec),
    icount: s.icount === null ? null : exact(s.icount),
  };
}

/** QAPI's int is signed: qemu prints a u64 above 2^63 as negative. */
const int64 = (v: bigint): number | string => exact(BigInt.asIntN(64, v));

/**
 * qemu-img's `snapshots` (bdrv_query_snapshot_info_list), keys in the order its JSON writer
 * prints them; icount only when the entry records one.
 */
export function snapshotInfo(list: SnapshotEntry[]): Record<string, unknown>[] {
  return list.map((s) => {
    const e: Record<string, unknown> = {};
    if (s.icount !== null) e.icount = int64(s.icount);
    e['vm-clock-nsec'] = Number(s.vmClockNsec % 1_000_000_000n);
    e.name = shown(s.name, 256);
    e['date-sec'] = s.dateSec;
    e['date-nsec'] = s.dateNsec;
    e['vm-clock-sec'] = exact(s.vmClockNsec / 1_000_000_000n);
    e.id = shown(s.id, 128);
    e['vm-state-size'] = int64(s.vmStateSize);
    return e;
  });
}
