// The boot time a running libvirt daemon computed, read from the daemon's own memory.
//
// libvirt compares a record's timestamp with its boot time exactly, and on a host without utmp
// that value comes from the clock's fraction of a second at daemon start: predicting it from the
// daemon's start tick was measured one second off in about one start in three (real libvirt
// 11.3). libvirt keeps the value in a static 64-bit integer of libvirt.so (virhostuptime.c), so
// root can read it: it is the only value in the writable pages of libvirt.so (and the .bss just
// after them) that lies within a few seconds of the kernel's boot time.
// Reads only: root's own processes, a bounded list of pages, nothing followed by name.
import * as fs from 'node:fs';
import { readSmall } from './small-file.js';

const MAPS_MAX = 8 * 1024 * 1024;
/** libvirt.so's writable data and .bss are a few hundred KiB; more is not libvirt's. */
const SCAN_MAX = 16 * 1024 * 1024;
/** libvirt's value is the kernel's btime rounded either way, give or take a second. */
const WINDOW_S = 2n;

interface Range {
  start: bigint;
  end: bigint;
}

/** The writable ranges of libvirt.so in a /proc/PID/maps text, each with the anonymous .bss after it. */
export function libvirtDataRanges(maps: string): Range[] {
  const out: Range[] = [];
  let lastEnd: bigint | null = null;
  for (const line of maps.split('\n')) {
    const m = /^([0-9a-f]{1,16})-([0-9a-f]{1,16}) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, from = '', to = '', perms = '', inode = '', file = ''] = m;
    const start = BigInt('0x' + from);
    const end = BigInt('0x' + to);
    const writable = perms.startsWith('rw');
    const isLibvirt = /(^|\/)libvirt\.so(\.[\d.]+)?$/.test(file);
    // An anonymous mapping that begins where libvirt.so's last one ends is its .bss.
    const isBss = inode === '0' && file === '' && lastEnd !== null && start === lastEnd;
    if (writable && end > start && (isLibvirt || isBss)) out.push({ start, end });
    lastEnd = isLibvirt ? end : null;
  }
  return out;
}

/**
 * The one boot-time-like value (within two seconds of `kernelBoot`) in the libvirt.so data of
 * process `pid`, or null: not root's process, unreadable, no such value, or more than one.
 */
export function daemonMemoryBootTime(pid: number, kernelBoot: number, procDir = '/proc'): number | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  const dir = `${procDir}/${pid}`;
  // A user can name any process libvirtd: only a root daemon's memory is believed.
  try {
    if (fs.lstatSync(dir).uid !== 0) return null;
  } catch {
    return null;
  }
  const maps = readSmall(`${dir}/maps`, MAPS_MAX)?.toString('latin1');
  if (maps === undefined) return null;
  const ranges = libvirtDataRanges(maps);
  let total = 0n;
  for (const r of ranges) total += r.end - r.start;
  if (ranges.length === 0 || total > BigInt(SCAN_MAX)) return null;
  let fd: number;
  try {
    fd = fs.openSync(`${dir}/mem`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  const lo = BigInt(kernelBoot) - WINDOW_S;
  const hi = BigInt(kernelBoot) + WINDOW_S;
  const found = new Set<bigint>();
  try {
    for (const r of ranges) {
      const buf = Buffer.alloc(Number(r.end - r.start));
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, r.start);
      } catch {
        continue; // a range unmapped since maps was read
      }
      // The static is 8-byte aligned, and ranges start on page boundaries.
      for (let off = 0; off + 8 <= n; off += 8) {
        const v = buf.readBigUInt64LE(off);
        if (v >= lo && v <= hi) found.add(v);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return found.size === 1 ? Number([...found][0]) : null;
}
