// A forest's tops, shared bases, orphans and chains, from the files' references alone.
import * as path from 'node:path';
import { BREAKING, type ScanResult, type ScannedChain, type ScannedFile } from '../../../../shared/scan.js';

/** Chains longer than this are checked for loops with a set; shorter ones with a list. */
const SET_FROM = 32;

/**
 * The files of the chain being walked, reused from chain to chain: most chains are a few files
 * long, and a set per top is 90,000 short-lived sets on a large pool.
 */
class Walked {
  private readonly list: string[] = [];
  private set: Set<string> | null = null;

  reset(): this {
    this.list.length = 0;
    this.set = null;
    return this;
  }

  has(p: string): boolean {
    return this.set ? this.set.has(p) : this.list.includes(p);
  }

  add(p: string): void {
    if (this.set) this.set.add(p);
    else if (this.list.push(p) > SET_FROM) this.set = new Set(this.list);
  }
}

/**
 * Tops, shared bases, orphans and chains, from the files' references alone (no file is read).
 * `by` finds a file by path; an index passes its own, so 110,000 files are not mapped twice.
 */
export function summarize(
  roots: string[],
  files: ScannedFile[],
  by: Pick<Map<string, ScannedFile>, 'get' | 'has'> = new Map(files.map((f) => [f.path, f])),
): ScanResult {
  const dataFiles = new Set(files.filter((f) => f.dataFile && by.has(f.dataFile)).map((f) => f.dataFile!));
  const backingUsers = new Map<string, number>();
  for (const f of files) if (f.backing && by.has(f.backing)) backingUsers.set(f.backing, (backingUsers.get(f.backing) ?? 0) + 1);

  const tops = files.filter((f) => f.isImage && f.usedBy.length === 0).map((f) => f.path);
  const sharedBases = [...backingUsers]
    .filter(([, n]) => n >= 2)
    .map(([p]) => p)
    .sort();
  const orphans = files.filter((f) => !f.isImage && f.usedBy.length === 0 && !f.external).map((f) => f.path);

  const walked = new Walked();
  const chains: ScannedChain[] = tops.map((top) => {
    const list: string[] = [];
    const visited = walked.reset();
    let allocated = 0;
    let broken = false;
    for (
      let cur: ScannedFile | undefined = by.get(top);
      cur && !visited.has(cur.path);
      cur = cur.backing ? by.get(cur.backing) : undefined
    ) {
      visited.add(cur.path);
      list.push(cur.path);
      allocated += cur.allocated ?? 0;
      broken ||= cur.problems.some((p) => BREAKING.has(p.code)) || (cur.backing !== null && !by.has(cur.backing));
      const data = cur.dataFile ? by.get(cur.dataFile) : undefined;
      if (data) {
        list.push(data.path);
        allocated += data.allocated ?? 0;
        broken ||= data.problems.some((p) => BREAKING.has(p.code));
      }
    }
    return { top, files: list, allocated, broken };
  });

  return {
    roots: roots.map((r) => path.resolve(r)),
    files,
    tops,
    sharedBases,
    orphans,
    chains,
    summary: {
      files: files.filter((f) => !f.external).length,
      tops: tops.length,
      sharedBases: sharedBases.length,
      dataFiles: dataFiles.size,
      orphans: orphans.length,
      broken: chains.filter((c) => c.broken).length,
      problems: files.reduce((n, f) => n + f.problems.length, 0),
    },
  };
}
