// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const vpc: FormatModule = {
  name: 'vpc',
  probe: () => 0,
  parse: () => { throw new HeaderError('vpc: not implemented yet'); },
};
