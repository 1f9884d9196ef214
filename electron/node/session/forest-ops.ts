// The scanned forests, kept in the inspection worker between requests: a scan builds one, a
// watcher's batch of changed paths updates it (only those files are read again), closing drops it.
import { ForestIndex, ScanCancelled } from '../core/scan.js';
import { CANCELLED, type ForestUpdate, type Report, type ScanDone } from './worker-contract.js';

const forests = new Map<string, ForestIndex>();

/**
 * Scan `roots` as forest `id`. `cancel` is shared memory the owning process sets to 1 to stop
 * the scan between two files (this thread is busy reading, so a message would arrive too late).
 */
export function scanForest(id: string, roots: string[], cancel: Int32Array, report: Report): ScanDone {
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

export function updateForest(id: string, paths: string[]): ForestUpdate | null {
  const index = forests.get(id);
  if (!index) return null;
  return { ...index.update(paths), totalReads: index.reads };
}

export function dropForest(id: string): void {
  forests.delete(id);
}
