// qemu-img 10, unpacked beside the system's 7.2 by scripts/fetch-qemu10.sh (CI runs it first).
import * as fs from 'node:fs';
import * as path from 'node:path';

const CACHED = path.join(process.env.DISKCHAIN_CACHE ?? '/var/cache/diskchain', 'qemu-10/usr/bin/qemu-img');

/** The qemu-img 10 binary: $DISKCHAIN_QEMU10, else the fetch script's cache; null when absent. */
export function qemu10Binary(): string | null {
  const candidate = process.env.DISKCHAIN_QEMU10 || CACHED;
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return candidate;
  } catch {
    return null;
  }
}

/** The one line a suite that needs qemu-img 10 prints when it skips. */
export const QEMU10_MISSING = `qemu-img 10 not found (run scripts/fetch-qemu10.sh or set DISKCHAIN_QEMU10): skipping its comparisons`;
