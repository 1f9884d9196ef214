// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const iso: FormatModule = {
  name: 'iso',
  probe: () => 0,
  parse: () => { throw new HeaderError('iso: not implemented yet'); },
};
