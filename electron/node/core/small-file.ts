// Small system files (/proc, utmp) read whole, bounded, without following a final link or blocking.
import * as fs from 'node:fs';

/** A regular file of at most `max` bytes, read without following a final link or blocking. */
export function readSmall(file: string, max: number): Buffer | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fs.fstatSync(fd);
    // /proc files report size 0: read up to `max` and refuse anything longer.
    if (!st.isFile() || st.size > max) return null;
    const buf = Buffer.alloc(max + 1);
    let n = 0;
    for (let r = 1; r > 0 && n <= max; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
    return n > max ? null : buf.subarray(0, n);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}
