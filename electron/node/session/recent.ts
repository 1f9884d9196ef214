// Recently opened paths, newest first: kept in a JSON file under Electron's userData, or in
// memory for `diskchain serve` (a server should not write into the home of whoever runs it).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MAX_RECENT = 12;

export interface RecentStore {
  list(): string[];
  add(p: string): void;
  clear(): void;
}

export class MemoryRecent implements RecentStore {
  protected items: string[] = [];
  list(): string[] {
    return [...this.items];
  }
  add(p: string): void {
    this.items = [p, ...this.items.filter((x) => x !== p)].slice(0, MAX_RECENT);
    this.changed();
  }
  clear(): void {
    this.items = [];
    this.changed();
  }
  protected changed(): void {}
}

export class FileRecent extends MemoryRecent {
  /** Called after every change (Electron rebuilds its Open Recent menu). */
  onChange: () => void = () => {};

  constructor(private readonly file: string) {
    super();
    try {
      const data: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (Array.isArray(data)) this.items = data.filter((x): x is string => typeof x === 'string').slice(0, MAX_RECENT);
    } catch {
      // No list yet, or an unreadable one: start empty.
    }
  }
  protected override changed(): void {
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.items), { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch {
      // Recent files are a convenience; never fail an open over them.
    }
    this.onChange();
  }
}
