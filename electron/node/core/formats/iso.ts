// ISO 9660. qemu has no driver for it and opens such a file as raw; we say what it is, and
// report what qemu-img info -f raw reports: the file size rounded up to 512-byte sectors, no
// cluster size, no format-specific data. The volume descriptors only feed `fields`.
import { HeaderError, type ImageSource } from '../source.js';
import { bdrvLength } from './common/block-reads.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

const SECTOR = 2048;
const FIRST_DESCRIPTOR = 16 * SECTOR;
/** Volume descriptors read at most (a real disc has 2 to 5). */
const MAX_DESCRIPTORS = 32;

function hasId(src: ImageSource, at: number): boolean {
  if (src.size < at + 6) return false;
  return src.read(at + 1, 5, 'ISO 9660 volume descriptor').toString('latin1') === 'CD001';
}

function text(b: Buffer, at: number, len: number): string {
  return b.toString('latin1', at, at + len).replace(/[ \0]+$/, '');
}

export const iso: FormatModule = {
  name: 'iso',
  qemuDriver: 'raw',

  probe(src: ImageSource): number {
    // Above raw (1), below every format qemu knows.
    return hasId(src, FIRST_DESCRIPTOR) ? 2 : 0;
  },

  parse(src: ImageSource): ParsedImage {
    if (!hasId(src, FIRST_DESCRIPTOR)) {
      throw new HeaderError('not an ISO 9660 image: no "CD001" at offset 32769 (qemu opens the file as raw)');
    }
    const fields: Record<string, string | number | boolean | null> = { file_size: src.size };
    const types: number[] = [];
    let terminated = false;
    for (let i = 0; i < MAX_DESCRIPTORS; i++) {
      const at = FIRST_DESCRIPTOR + i * SECTOR;
      if (at + SECTOR > src.size) break;
      const d = src.read(at, SECTOR, 'ISO 9660 volume descriptor');
      if (d.toString('latin1', 1, 6) !== 'CD001') break;
      const type = d[0]!;
      types.push(type);
      if (type === 255) {
        terminated = true;
        break;
      }
      if (type === 0 && text(d, 7, 32) === 'EL TORITO SPECIFICATION') fields.el_torito = true;
      if (type === 2 && d[88] === 0x25 && d[89] === 0x2f && [0x40, 0x43, 0x45].includes(d[90]!)) fields.joliet = true;
      if (type === 1 && fields.volume_id === undefined) {
        const blocks = d.readUInt32LE(80);
        const blockSize = d.readUInt16LE(128);
        fields.system_id = text(d, 8, 32);
        fields.volume_id = text(d, 40, 32);
        fields.volume_set_id = text(d, 190, 128);
        fields.publisher_id = text(d, 318, 128);
        fields.preparer_id = text(d, 446, 128);
        fields.application_id = text(d, 574, 128);
        fields.creation_date = text(d, 813, 16);
        fields.volume_space_size = blocks;
        fields.logical_block_size = blockSize;
        fields.volume_size = blocks * blockSize;
        fields.truncated = blocks * blockSize > src.size;
      }
    }
    fields.descriptor_types = types.join(',');
    fields.terminated = terminated;
    fields.primary_descriptor = fields.volume_id !== undefined;
    return standalone({
      format: 'iso',
      virtualSize: bdrvLength(src.size),
      fields,
    });
  },
};
