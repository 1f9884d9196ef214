// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const raw: FormatModule = {
  name: 'raw',
  probe: () => 0,
  parse: () => { throw new HeaderError('raw: not implemented yet'); },
};
