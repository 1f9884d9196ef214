// Watching scanned folders: one inotify watch per folder (fs.watch, not recursive: Node's
// recursive mode on Linux re-lists whole trees), changed names gathered for a moment and handed
// on in one batch, so a qemu-img that writes a file five times costs one re-read.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Wait this long after the last event before handing the batch on... */
const QUIET_MS = 120;
/** ...but never longer than this after the first (a file written continuously). */
const MAX_WAIT_MS = 1000;
/** Folders watched at most (each is an inotify watch; the system's default limit is 8192+). */
export const MAX_WATCHED = 4096;

export class FolderWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private batch = new Set<string>();
  private quiet: ReturnType<typeof setTimeout> | null = null;
  private first: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** Folders that could not be watched (the limit, or an error), said once to the user. */
  readonly skipped: string[] = [];

  constructor(private readonly onBatch: (paths: string[]) => void) {}

  add(dirs: string[]): void {
    for (const dir of dirs) {
      if (this.closed || this.watchers.has(dir)) continue;
      if (this.watchers.size >= MAX_WATCHED) {
        this.skipped.push(dir);
        continue;
      }
      try {
        const w = fs.watch(dir, { persistent: false }, (_event, name) => this.event(dir, name));
        w.on('error', () => this.drop(dir));
        this.watchers.set(dir, w);
      } catch {
        this.skipped.push(dir);
      }
    }
  }

  private drop(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }

  private event(dir: string, name: string | Buffer | null): void {
    if (this.closed) return;
    // No name: something in the folder changed; the folder is listed again.
    this.batch.add(name === null ? dir : path.join(dir, name.toString()));
    if (this.quiet) clearTimeout(this.quiet);
    this.quiet = setTimeout(() => this.flush(), QUIET_MS);
    this.first ??= setTimeout(() => this.flush(), MAX_WAIT_MS);
  }

  private flush(): void {
    if (this.quiet) clearTimeout(this.quiet);
    if (this.first) clearTimeout(this.first);
    this.quiet = this.first = null;
    const paths = [...this.batch];
    this.batch = new Set();
    // A removed folder's own watch ends; its parent's event lists what went with it.
    for (const p of paths) if (this.watchers.has(p) && !fs.existsSync(p)) this.drop(p);
    if (paths.length && !this.closed) this.onBatch(paths);
  }

  close(): void {
    this.closed = true;
    if (this.quiet) clearTimeout(this.quiet);
    if (this.first) clearTimeout(this.first);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
