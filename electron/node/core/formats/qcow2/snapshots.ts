// qcow2 internal snapshots: qemu reads the snapshot table at open and refuses a table it cannot
// hold; what it keeps of each entry is what `qemu-img info` lists.
import { HeaderError } from '../../source.js';
import { INT_MAX } from '../common/limits.js';
import { big, type Wide } from '../common/numbers.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';

const QCOW_MAX_SNAPSHOT_EXTRA_DATA = 1024;
const QCOW_MAX_SNAPSHOTS_SIZE = 1024 * 65536;
/** The extra data qemu 7.2 knows: vm_state_size_large, disk_size, icount. */
const KNOWN_EXTRA = 24;
/** qemu's "no icount" (-1), whether stored or implied by short extra data. */
const NO_ICOUNT = 0xffff_ffff_ffff_ffffn;
/**
 * Bytes kept of each id and name: qemu shows at most 127 and 255 of them (QEMUSnapshotInfo's
 * buffers), so the rest of a name up to 64 KiB is never read and the table costs little memory.
 */
export const SNAPSHOT_NAME_KEEP = 1024;

/** One entry of the table, as qemu holds it after qcow2_read_snapshots(). */
export interface SnapshotEntry {
  /** The stored id and name bytes (at most SNAPSHOT_NAME_KEEP of each). */
  id: Buffer;
  name: Buffer;
  idSize: number;
  nameSize: number;
  /** vm_state_size_large when the extra data holds it, else the 32-bit field. */
  vmStateSize: bigint;
  dateSec: number;
  dateNsec: number;
  vmClockNsec: bigint;
  /** null when the extra data is too short to hold it or holds qemu's -1. */
  icount: bigint | null;
}

/** qcow2_read_snapshots(): qemu's sizes, reads and refusals, keeping what it keeps. */
export function readSnapshotTable(r: ZeroFillReader, offset0: Wide, nb: number): SnapshotEntry[] {
  const out: SnapshotEntry[] = [];
  const start = big(offset0);
  let offset = start;
  let tableLength = 0;
  for (let i = 0; i < nb; i++) {
    tableLength = Math.ceil(tableLength / 8) * 8;
    offset = (offset + 7n) & ~7n;
    const h = r.read(offset, 40, 'Failed to read snapshot table');
    offset += 40n;
    const idSize = h.readUInt16BE(12);
    const nameSize = h.readUInt16BE(14);
    const extraDataSize = h.readUInt32BE(36);
    if (extraDataSize > QCOW_MAX_SNAPSHOT_EXTRA_DATA) {
      throw new HeaderError(
        `Too much extra metadata in snapshot table entry ${i}\nYou can force-remove this extra metadata with qemu-img check -r all`,
      );
    }
    const known = Math.min(KNOWN_EXTRA, extraDataSize);
    const extra = r.read(offset, known, 'Failed to read snapshot table');
    offset += BigInt(known);
    if (extraDataSize > known) {
      r.check(offset, extraDataSize - known, 'Failed to read snapshot table');
      offset += BigInt(extraDataSize - known);
    }
    r.check(offset, idSize, 'Failed to read snapshot table');
    const id = r.read(offset, Math.min(idSize, SNAPSHOT_NAME_KEEP), 'Failed to read snapshot table');
    offset += BigInt(idSize);
    r.check(offset, nameSize, 'Failed to read snapshot table');
    const name = r.read(offset, Math.min(nameSize, SNAPSHOT_NAME_KEEP), 'Failed to read snapshot table');
    offset += BigInt(nameSize);
    tableLength += 40 + extraDataSize + idSize + nameSize;
    if (tableLength > QCOW_MAX_SNAPSHOTS_SIZE || offset - start > BigInt(INT_MAX)) {
      throw new HeaderError(
        `Snapshot table is too big\nYou can force-remove all ${nb - i} overhanging snapshots with qemu-img check -r all`,
      );
    }
    out.push({
      id,
      name,
      idSize,
      nameSize,
      vmStateSize: known >= 8 ? extra.readBigUInt64BE(0) : BigInt(h.readUInt32BE(32)),
      dateSec: h.readUInt32BE(16),
      dateNsec: h.readUInt32BE(20),
      vmClockNsec: h.readBigUInt64BE(24),
      icount: known >= 24 && extra.readBigUInt64BE(16) !== NO_ICOUNT ? extra.readBigUInt64BE(16) : null,
    });
  }
  return out;
}
