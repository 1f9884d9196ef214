// Raw: no header at all. qemu's raw_probe() gives every file the lowest score (1), and the
// virtual size is the file size rounded up to whole 512-byte sectors, as bdrv_getlength() has it.
import type { ImageSource } from '../source.js';
import { bdrvLength } from './common/block-reads.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

export const raw: FormatModule = {
  name: 'raw',

  probe(): number {
    return 1;
  },

  parse(src: ImageSource): ParsedImage {
    return standalone({
      format: 'raw',
      virtualSize: bdrvLength(src.size),
      fields: { file_size: src.size },
    });
  },
};
