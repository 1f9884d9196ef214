// The scan threads started ahead of a scan (an agent does on connect) are the ones the scan uses.
import { describe, expect, it } from 'vitest';
import { defaultWorkers, scanPool, warmScanPool } from '../../electron/node/core/scan/pool.js';

describe('a warmed scan pool', () => {
  it('is the pool the next scan takes, with a thread per core', () => {
    warmScanPool();
    const warmed = scanPool(defaultWorkers());
    expect(warmed).not.toBeNull();
    expect(warmed!.size).toBe(defaultWorkers());
    expect(scanPool(defaultWorkers())).toBe(warmed);
    warmed!.dispose();
  });
});
