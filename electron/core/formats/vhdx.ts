// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const vhdx: FormatModule = {
  name: 'vhdx',
  probe: () => 0,
  parse: () => { throw new HeaderError('vhdx: not implemented yet'); },
};
