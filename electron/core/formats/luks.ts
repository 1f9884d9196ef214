// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const luks: FormatModule = {
  name: 'luks',
  probe: () => 0,
  parse: () => { throw new HeaderError('luks: not implemented yet'); },
};
