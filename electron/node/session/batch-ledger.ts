// What a scan's `forest-batch` events sent, so that its answer can hold only what differs: a
// remote host's 11k-file forest is megabytes the window would otherwise receive, parse and compare
// twice. Early batches can be out of date (a tree completed by files read later), so each final
// file is compared with the last version sent.
import { isDeepStrictEqual } from 'node:util';
import type { ForestSnapshot, ScannedFile } from '../../../shared/scan.js';

export class BatchLedger {
  private readonly sent = new Map<string, ScannedFile>();

  record(files: readonly ScannedFile[]): void {
    for (const f of files) this.sent.set(f.path, f);
  }

  /** The forest with only the files the batches did not send as they are, and what they sent that is gone. */
  since(forest: ForestSnapshot): { forest: ForestSnapshot; removed: string[]; sent: number } {
    const kept = new Set<string>();
    const files: ScannedFile[] = [];
    for (const f of forest.files) {
      kept.add(f.path);
      const s = this.sent.get(f.path);
      if (!s || !isDeepStrictEqual(s, f)) files.push(f);
    }
    const removed = [...this.sent.keys()].filter((p) => !kept.has(p));
    return { forest: { ...forest, files }, removed, sent: this.sent.size };
  }
}
