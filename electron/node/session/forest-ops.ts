// The scanned forests, kept in the inspection worker between requests: a scan builds one, a
// watcher's batch of changed paths updates it (only those files are read again), closing drops it.
import type { ForestChange, ForestSnapshot } from '../../../shared/scan.js';
import { ForestIndex, ScanCancelled } from '../core/scan.js';

const forests = new Map<string, ForestIndex>();

/** Thrown as the op's error text: the owning process tells a cancel from a failure by it. */
export const CANCELLED = 'scan cancelled';

export interface ScanDone {
  forest: ForestSnapshot;
  /** Folders entered, for the watcher. */
  dirs: string[];
}

/**
 * Scan `roots` as forest `id`. `cancel` is shared memory the owning process sets to 1 to stop
 * the scan between two files (this thread is busy reading, so a message would arrive too late).
 */
export function scanForest(id: string, roots: string[], cancel: Int32Array, report: (done: number, total: number) => void): ScanDone {
  const t0 = performance.now();
  const index = new ForestIndex(roots);
  let dirs: string[];
  try {
    dirs = index.scanAll({
      progress: (done, total) => {
        if (Atomics.load(cancel, 0) !== 0) return false;
        report(done, total);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ScanCancelled) throw new Error(CANCELLED);
    throw e;
  }
  forests.set(id, index);
  const r = index.result();
  return { forest: { id, roots: r.roots, files: r.files, summary: r.summary, reads: index.reads, ms: performance.now() - t0 }, dirs };
}

export function updateForest(id: string, paths: string[]): (ForestChange & { totalReads: number }) | null {
  const index = forests.get(id);
  if (!index) return null;
  return { ...index.update(paths), totalReads: index.reads };
}

export function dropForest(id: string): void {
  forests.delete(id);
}
