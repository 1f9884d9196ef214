// LUKS version 1 (the only version qemu 7.2 reads; a LUKS2 header probes as raw and is refused
// with "LUKS version 2 is not supported"). The 592-byte big-endian header is checked as
// qcrypto_block_luks_open() does without a key (qemu-img info opens with no I/O), and the
// payload must start inside the file, as block_crypto_co_getlength() requires.
import { HeaderError, type ImageSource } from '../source.js';
import { headBytes } from './common/block-reads.js';
import { LUKS_HEADER_SIZE, LUKS_MAGIC, LUKS_SECTOR, luksInfo, readLuksHeader, type LuksHeader } from './common/luks-header.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

function headerFields(l: LuksHeader): Record<string, string | number | boolean | null> {
  const fields: Record<string, string | number | boolean | null> = {
    version: l.version,
    cipher_name: l.cipherName,
    cipher_mode: l.cipherModeSpec,
    hash_spec: l.hashSpec,
    payload_offset_sector: l.payloadSector,
    master_key_len: l.masterKeyLen,
    master_key_iterations: l.masterKeyIters,
    uuid: l.uuid,
    active_slots: l.slots.filter((s) => s.active).length,
  };
  l.slots.forEach((s, i) => {
    fields[`slot${i}_active`] = s.active;
    fields[`slot${i}_iterations`] = s.iterations;
    fields[`slot${i}_key_offset_sector`] = s.keyOffset;
    fields[`slot${i}_stripes`] = s.stripes;
  });
  return fields;
}

export const luks: FormatModule = {
  name: 'luks',

  probe(src: ImageSource): number {
    // qcrypto_block_luks_has_format(): the magic and version 1.
    const h = src.head;
    if (src.size === 0 || h.length < 8) return 0;
    return h.subarray(0, 6).equals(LUKS_MAGIC) && h.readUInt16BE(6) === 1 ? 100 : 0;
  },

  parse(src: ImageSource): ParsedImage {
    // The header, zero-filled past the end of the file as bdrv_pread() gives it.
    const l = readLuksHeader(headBytes(src, LUKS_HEADER_SIZE));
    const payloadOffset = l.payloadSector * LUKS_SECTOR;
    if (payloadOffset > src.size) {
      throw new HeaderError('Could not refresh total sector count: Input/output error');
    }
    return standalone({
      format: 'luks',
      // bdrv_getlength() of the crypto node: the payload, rounded up to whole sectors.
      virtualSize: Math.ceil((src.size - payloadOffset) / LUKS_SECTOR) * LUKS_SECTOR,
      encrypted: true,
      fields: headerFields(l),
      formatSpecific: { type: 'luks', data: luksInfo(l) },
    });
  },
};
