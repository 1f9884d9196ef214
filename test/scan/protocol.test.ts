// The records a scan's worker threads send as JSON text come back exactly as read: any header
// bytes in a name (kept as latin1 text, NUL and control bytes included), sizes beyond 2^53 as
// text, labels and problems.
import { describe, expect, it } from 'vitest';
import { decodeRecords, encodeRecords } from '../../electron/node/core/scan/protocol.js';
import type { FileRecord } from '../../electron/node/core/scan/record.js';

describe('the scan workers’ batch encoding', () => {
  it('gives back every field of every record, names of all 256 byte values included', () => {
    const everyByte = Buffer.from([...Array(256).keys()]).toString('latin1');
    const records: FileRecord[] = [
      {
        file: {
          path: '/pool/ä\u2028b.qcow2',
          format: 'qcow2',
          external: false,
          isImage: true,
          virtualSize: '18446744073709551615',
          size: 196_616,
          allocated: 200_704,
          owner: { uid: 107, gid: 107, user: 'qemu', group: null, mode: 0o100600 },
          selinux: 'system_u:object_r:svirt_image_t:s0:c1,c2',
          remembered: { dac: { label: '+0:+0', refcount: 1, timestamp: '1700000000', current: true }, selinux: null },
          backing: null,
          dataFile: null,
          usedBy: [],
          problems: [{ code: 'missing', message: 'a "quoted" \\ name\n' }],
          snapshots: 3,
        },
        names: { backing: { raw: everyByte, format: 'qcow2' }, dataFile: { raw: '\0', format: null } },
      },
      {
        file: {
          path: '/pool/raw',
          format: 'raw',
          external: true,
          isImage: false,
          virtualSize: null,
          size: null,
          allocated: null,
          owner: null,
          selinux: null,
          remembered: { dac: null, selinux: null },
          backing: null,
          dataFile: null,
          usedBy: [],
          problems: [],
        },
        names: { backing: null, dataFile: null },
      },
    ];
    const back = decodeRecords(encodeRecords(records));
    expect(back).toStrictEqual(records);
    expect(Buffer.from(back[0]!.names.backing!.raw, 'latin1')).toEqual(Buffer.from([...Array(256).keys()]));
  });
});
