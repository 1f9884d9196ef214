// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const qcow: FormatModule = {
  name: 'qcow',
  probe: () => 0,
  parse: () => { throw new HeaderError('qcow: not implemented yet'); },
};
