// Whole trees while a scan still reads: a file is sent once its references are known for good and
// lead only to files already sent (or to nothing), so what was sent is always closed downward: each
// file's backing chain and data file are there, as the final scan will have them. What can still
// change is upward: a file read later may use a base already sent, whose record is then sent again
// with that user. Files whose references wait on something the reads do not settle (a file outside
// the listing, read only when references are resolved; a backing loop) are held to the end, when
// every record that differs from what was sent goes out once more (see `finish`).
import type { ScannedFile } from '../../../../shared/scan.js';
import type { Role } from './record.js';

/** What a file's names lead to, as far as the reads so far can tell. */
export type EarlyRefs<E> =
  /** Each role's target (its entry, or the name when it leads to nothing) and the problems. */
  | { refs: Record<Role, { entry: E } | { name: string } | null>; problems: ScannedFile['problems'] }
  /** A listed file not read yet (its path), or null: only the final resolution can tell. */
  | { wait: string | null };

export class EarlyTrees<E extends { file: ScannedFile }> {
  /** The records sent, by path (their usedBy grows as users are sent). */
  private readonly sent = new Map<string, ScannedFile>();
  /** Entries waiting for a path to be read (a listed name) or sent (a target). */
  private readonly waiting = new Map<string, E[]>();
  /** Paths whose records go out with the next batch. */
  private readonly due = new Set<string>();

  constructor(private readonly refsOf: (entry: E) => EarlyRefs<E>) {}

  /** Entries just read under the names `names` (a name may be read as another, real, path). */
  read(entries: readonly E[], names: readonly string[]): void {
    const todo: E[] = [...entries];
    for (const n of names) this.wake(n, todo);
    // A worklist, not recursion: a long chain read from its top down is settled here at once.
    for (let e = todo.pop(); e; e = todo.pop()) this.settle(e, todo);
  }

  /** The records due since the last call, in the order they became due. */
  take(): ScannedFile[] {
    const out: ScannedFile[] = [];
    for (const p of this.due) {
      const f = this.sent.get(p)!;
      out.push({ ...f, usedBy: [...f.usedBy] });
    }
    this.due.clear();
    return out;
  }

  /** The final records that were never sent, or differ from what was (then the early state is dropped). */
  finish(files: readonly ScannedFile[]): ScannedFile[] {
    const out = files.filter((f) => {
      const s = this.sent.get(f.path);
      return !s || !sameRecord(s, f);
    });
    this.sent.clear();
    this.waiting.clear();
    this.due.clear();
    return out;
  }

  private wake(key: string, todo: E[]): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    for (const e of w) todo.push(e);
  }

  private wait(key: string, e: E): void {
    const w = this.waiting.get(key);
    if (w) w.push(e);
    else this.waiting.set(key, [e]);
  }

  private settle(e: E, todo: E[]): void {
    const p = e.file.path;
    if (this.sent.has(p)) return;
    const r = this.refsOf(e);
    if ('wait' in r) {
      if (r.wait !== null) this.wait(r.wait, e);
      return;
    }
    const targets: ScannedFile[] = [];
    const file: ScannedFile = { ...e.file, backing: null, dataFile: null, usedBy: [], problems: r.problems };
    for (const role of ['backing', 'dataFile'] as const) {
      const t = r.refs[role];
      if (!t) continue;
      if ('name' in t) {
        file[role] = t.name;
        continue;
      }
      const tp = t.entry.file.path;
      // Its own backing file is a loop: only the final resolution marks it.
      if (tp === p) return;
      const sent = this.sent.get(tp);
      if (!sent) return this.wait(tp, e);
      file[role] = tp;
      targets.push(sent);
    }
    this.sent.set(p, file);
    this.due.add(p);
    for (const t of targets) if (insertSorted(t.usedBy, p)) this.due.add(t.path);
    this.wake(p, todo);
  }
}

/** Put `x` into the sorted list `xs` (as the final usedBy is sorted); false when it is there already. */
function insertSorted(xs: string[], x: string): boolean {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (xs[lo] === x) return false;
  xs.splice(lo, 0, x);
  return true;
}

function sameRecord(a: ScannedFile, b: ScannedFile): boolean {
  return (
    a.backing === b.backing &&
    a.dataFile === b.dataFile &&
    a.external === b.external &&
    a.usedBy.length === b.usedBy.length &&
    a.usedBy.every((u, i) => u === b.usedBy[i]) &&
    (a.problems === b.problems || JSON.stringify(a.problems) === JSON.stringify(b.problems))
  );
}
