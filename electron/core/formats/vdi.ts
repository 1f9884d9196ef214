// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const vdi: FormatModule = {
  name: 'vdi',
  probe: () => 0,
  parse: () => { throw new HeaderError('vdi: not implemented yet'); },
};
