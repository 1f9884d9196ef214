// A journal folder for one test. As root, diskchain keeps its journal only where the folder and
// every folder above it are root's and writable by root alone, which no folder under /tmp is
// (/tmp itself is world-writable): root's folders live under /run/diskchain-test instead.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BASE = '/run/diskchain-test';
const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A new, empty journal folder path (created with its parents, removed when the process exits). */
export function stateDir(): string {
  if (process.getuid?.() !== 0) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-state-'));
    made.push(d);
    return path.join(d, 'state');
  }
  fs.mkdirSync(BASE, { recursive: true, mode: 0o700 });
  fs.chmodSync(BASE, 0o700);
  const d = path.join(BASE, randomUUID());
  fs.mkdirSync(d, { mode: 0o700 });
  made.push(d);
  return path.join(d, 'state');
}
