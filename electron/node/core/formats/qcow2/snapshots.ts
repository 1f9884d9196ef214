// qcow2 internal snapshots: qemu reads the snapshot table at open and refuses a table it cannot
// hold; nothing else of the snapshots matters for a chain.
import { HeaderError } from '../../source.js';
import { INT_MAX } from '../common/limits.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';

const QCOW_MAX_SNAPSHOT_EXTRA_DATA = 1024;
const QCOW_MAX_SNAPSHOTS_SIZE = 1024 * 65536;

/** qcow2_read_snapshots(): only the sizes and reads qemu makes; the snapshots are not kept. */
export function checkSnapshotTable(r: ZeroFillReader, offset0: bigint, nb: number): void {
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
