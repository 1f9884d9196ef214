// The scanned forest: scans (with their cancel flags and progress), the watcher on the scanned
// folders, and the re-reads it triggers. A re-read that fails leaves the forest out of date, so the
// user is told, not left looking at a stale view.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { ContractError } from '../../../shared/ipc.js';
import type { ScannedFile, ScanOutcome } from '../../../shared/scan.js';
import { BatchLedger } from './batch-ledger.js';
import type { Emit } from './host.js';
import { userPath } from './user-path.js';
import { FolderWatcher } from './watch.js';
import type { InspectWorker } from './worker.js';
import { CANCELLED } from './worker-contract.js';
import { errorText } from '../../../shared/error-text.js';

interface Scanned {
  id: string;
  roots: string[];
  watcher: FolderWatcher;
  /** Its tops: plans may start from them. */
  tops: Set<string>;
  /** Re-reads run one after another, in the order the watcher saw the changes. */
  updating: Promise<unknown>;
  /** A re-read failed and the user was told: once per scan, as each later batch would repeat it. */
  told: boolean;
}

/** A scanned image nothing uses: a disk a plan may start from. */
function isTop(f: ScannedFile): boolean {
  return f.isImage && !f.external && f.usedBy.length === 0;
}

/** The real path of a folder the user typed to scan. */
export function scannableFolder(typed: string): string {
  const p = userPath(typed);
  try {
    const real = fs.realpathSync.native(p);
    if (!fs.statSync(real).isDirectory()) throw new ContractError(`${p} is not a folder; open an image to see its chain`);
    return real;
  } catch (e) {
    if (e instanceof ContractError) throw e;
    throw new ContractError(
      `${p} cannot be scanned: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`,
    );
  }
}

export class Forest {
  private current: Scanned | null = null;
  /** Running scans' cancel flags (shared with the worker, which checks them between files). */
  private readonly scans = new Map<string, Int32Array>();

  constructor(
    private readonly worker: InspectWorker,
    private readonly emit: Emit,
    /** Tells the user something went wrong in the background. */
    private readonly notify: (text: string) => void,
  ) {}

  /** The scanned folders (none before a scan). */
  get roots(): string[] {
    return this.current?.roots ?? [];
  }

  hasTop(top: string): boolean {
    return !!this.current?.tops.has(top);
  }

  /** Stop a running scan; false when there is none by that id. */
  cancel(id: string): boolean {
    const flag = this.scans.get(id);
    if (flag) Atomics.store(flag, 0, 1);
    return !!flag;
  }

  /**
   * Scan real folders (with those scanned already) into the forest, then watch them. `drawn`: the
   * caller drew the batches, so the answer holds only what differs from them.
   */
  async scan(given: string[], drawn = false): Promise<ScanOutcome> {
    // Folders inside another scanned folder are scanned with it.
    const all = [...new Set([...this.roots, ...given])].sort();
    const roots = all.filter((r) => !all.some((o) => o !== r && r.startsWith(o.endsWith('/') ? o : `${o}/`)));
    const id = randomBytes(9).toString('hex');
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    this.scans.set(id, cancel);
    let last = { done: 0, total: 0 };
    const ledger = drawn ? new BatchLedger() : null;
    this.emit('scan-progress', { id, ...last });
    let r;
    try {
      r = await this.worker.callWithProgress(
        'scan',
        (done, total, files) => {
          last = { done, total };
          // Whole trees as the worker knows them: the renderer draws them while the scan reads on.
          if (files) {
            ledger?.record(files);
            this.emit('forest-batch', { id, files, done, total });
          } else this.emit('scan-progress', { id, done, total });
        },
        id,
        roots,
        cancel,
      );
    } catch (e) {
      if ((e as Error).message === CANCELLED) return { status: 'cancelled', id, ...last };
      throw e;
    } finally {
      this.scans.delete(id);
    }
    this.drop();
    const watcher = new FolderWatcher((changed) => this.changed(id, changed));
    watcher.add(r.dirs);
    const tops = new Set<string>();
    for (const f of r.forest.files) if (isTop(f)) tops.add(f.path);
    this.current = { id, roots, watcher, tops, updating: Promise.resolve(), told: false };
    if (!ledger) return { status: 'done', forest: r.forest };
    const since = ledger.since(r.forest);
    return { status: 'done', forest: since.forest, sinceBatches: { removed: since.removed, sent: since.sent } };
  }

  /** Files changed under the scanned folders: re-read those, send the renderer what changed. */
  private changed(id: string, paths: string[]): void {
    const f = this.current;
    if (!f || f.id !== id) return;
    f.updating = f.updating
      .then(async () => {
        if (this.current !== f) return;
        const d = await this.worker.call('updateForest', id, paths);
        if (this.current !== f) return;
        // The worker thread was restarted and lost what it had scanned.
        if (!d) throw new Error('the inspection worker no longer holds the scan');
        if (d.newDirs.length) f.watcher.add(d.newDirs);
        for (const p of d.remove) f.tops.delete(p);
        for (const file of d.upsert) {
          if (isTop(file)) f.tops.add(file.path);
          else f.tops.delete(file.path);
        }
        this.emit('forest-delta', {
          id,
          upsert: d.upsert,
          remove: d.remove,
          reread: d.reread,
          reads: d.reads,
          summary: d.summary,
          totalReads: d.totalReads,
        });
      })
      .catch((e: unknown) => {
        // A forest closed or replaced meanwhile is nobody's concern.
        if (this.current !== f || f.told) return;
        f.told = true;
        this.notify(
          `Changes in the scanned folders could not be read (${errorText(e)}); the forest may be out of date: scan the folders again.`,
        );
      });
  }

  /** Forget the forest and stop watching its folders. */
  drop(): void {
    const f = this.current;
    if (!f) return;
    this.current = null;
    f.watcher.close();
    // A worker that cannot drop it holds nothing to drop.
    void this.worker.call('dropForest', f.id).catch(() => undefined);
  }

  /** The session ends: stop scans and the watcher (the worker goes with the session). */
  close(): void {
    for (const flag of this.scans.values()) Atomics.store(flag, 0, 1);
    this.current?.watcher.close();
    this.current = null;
  }
}
