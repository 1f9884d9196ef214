// The scanned forests, kept in the inspection worker between requests: a scan builds one, a
// watcher's batch of changed paths updates it (only those files are read again), closing drops it.
import { ForestIndex, ScanCancelled } from '../core/scan.js';
import type { ScannedFile } from '../../../shared/scan.js';
import { BATCH_FILES, treeBatches } from './forest-batches.js';
import { CANCELLED, type ForestUpdate, type Report, type ScanDone } from './worker-contract.js';

const forests = new Map<string, ForestIndex>();

/** Trees gathered while a scan reads are posted this often (each post is carried, parsed and drawn). */
const POST_EVERY_MS = 100;

/**
 * Scan `roots` as forest `id`. `cancel` is shared memory the owning process sets to 1 to stop
 * the scan between two files (this thread is busy reading, so a message would arrive too late).
 * Whole trees are reported as they are known (core/scan.ts, onTrees): the first at once, then
 * gathered for POST_EVERY_MS or BATCH_FILES files, the last (what the final resolution changed) in
 * batches of whole trees; a file sent twice goes out in its newer version.
 */
export function scanForest(id: string, roots: string[], cancel: Int32Array, report: Report): ScanDone {
  const t0 = performance.now();
  const index = new ForestIndex(roots);
  const gathered = new Map<string, ScannedFile>();
  let posted = -Infinity;
  const post = (done: number, total: number) => {
    report(done, total, [...gathered.values()]);
    gathered.clear();
    posted = performance.now();
  };
  let dirs: string[];
  try {
    dirs = index.scanAll({
      progress: (done, total) => {
        // Said before the cancel is obeyed: the user is told how far it got, of how many.
        report(done, total);
        return Atomics.load(cancel, 0) === 0;
      },
      onTrees: ({ final, files, done, total }) => {
        if (final) {
          if (gathered.size) post(done, total);
          for (const batch of treeBatches(files)) report(done, total, batch);
          return;
        }
        for (const f of files) {
          gathered.delete(f.path);
          gathered.set(f.path, f);
        }
        if (gathered.size && (gathered.size >= BATCH_FILES || performance.now() - posted >= POST_EVERY_MS)) post(done, total);
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
