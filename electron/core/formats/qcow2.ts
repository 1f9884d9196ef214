// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const qcow2: FormatModule = {
  name: 'qcow2',
  probe: () => 0,
  parse: () => { throw new HeaderError('qcow2: not implemented yet'); },
};
