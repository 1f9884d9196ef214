// PLACEHOLDER: replaced by the real module.
import type { FormatModule } from './types.js';
import { HeaderError } from '../source.js';

export const qed: FormatModule = {
  name: 'qed',
  probe: () => 0,
  parse: () => { throw new HeaderError('qed: not implemented yet'); },
};
