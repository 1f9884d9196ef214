// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const vmdk: FormatModule = {
  name: 'vmdk',
  probe: () => 0,
  parse: () => { throw new HeaderError('vmdk: not implemented yet'); },
};
