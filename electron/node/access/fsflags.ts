// What stops a write the permission bits allow: a read-only mount, or the immutable or
// append-only attribute (open(O_RDWR) fails with EROFS or EPERM even for root).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { VerdictKind } from '../../../shared/verdict.js';
import { FS_FLAG, inodeFlags, onReadOnlyMount } from '../native/libc.js';

export interface WriteBlock {
  kind: Extract<VerdictKind, 'read-only-fs' | 'immutable' | 'append-only' | 'unreadable'>;
  reason: string;
}

/** The attributes of the regular file `real` that lstat saw as `st`; null when it changed or has none. */
function flagsOf(real: string, st: fs.Stats): number | null {
  // O_NONBLOCK and O_NOFOLLOW: nothing but the regular file lstat saw is opened, and no FIFO waits.
  const fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  try {
    const now = fs.fstatSync(fd);
    if (!now.isFile() || now.dev !== st.dev || now.ino !== st.ino) return null;
    return inodeFlags(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Why the regular file `real` (lstat `st`) cannot be opened for writing whatever its mode says. */
export function writeBlocks(real: string, st: fs.Stats): WriteBlock[] {
  const base = path.basename(real);
  const out: WriteBlock[] = [];
  const failed = (what: string, e: unknown) =>
    out.push({
      kind: 'unreadable',
      reason: `${base}: its ${what} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    });
  try {
    if (onReadOnlyMount(real)) out.push({ kind: 'read-only-fs', reason: `${base}: on a read-only mount` });
  } catch (e) {
    failed('mount flags', e);
  }
  if (!st.isFile()) return out;
  let flags: number | null = null;
  try {
    flags = flagsOf(real, st);
  } catch (e) {
    failed('attributes', e);
  }
  if (flags !== null && flags & FS_FLAG.IMMUTABLE) out.push({ kind: 'immutable', reason: `${base}: immutable (chattr +i)` });
  if (flags !== null && flags & FS_FLAG.APPEND) out.push({ kind: 'append-only', reason: `${base}: append-only (chattr +a)` });
  return out;
}
