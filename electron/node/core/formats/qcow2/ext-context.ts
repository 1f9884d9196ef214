// What reading one header extension needs to know of the header around it.
import type { Wide } from '../common/numbers.js';

export interface ExtContext {
  cryptMethod: number;
  clusterSize: number;
  autoclear: Wide;
}
