// The host boot time as libvirt writes it into timestamp_dac / timestamp_selinux, and which
// recorded timestamps count as "this boot".
//
// libvirt compares a record's timestamp with its own boot time exactly and purges the record on
// any difference, so diskchain must write the very value the running libvirtd computed. libvirt
// computes it once, at daemon start (virHostBootTimeInit): utmp's BOOT_TIME record, else
// llround(floor(now_ms / 1000) - uptime) from /proc/uptime (virHostGetBootTimeProcfs). Measured
// against real libvirt 11.3 that is one second off the kernel's btime at times, and which way
// depends on the fraction of a second the daemon started at. So, in order:
// - a running libvirtd/virtqemud: the utmp it sees (under its /proc/PID/root), else the value in
//   its memory (root only, daemon-memory.ts), else its procfs value predicted from its start time;
// - no daemon: this host's utmp, else the kernel's btime. Not libvirt's formula evaluated now: that
//   can differ by a second between two of our processes (the helper and its client), and a daemon
//   started later computes its own value anyway; the records then meet within the tolerance below.
// A record one second either way of this boot's time (or of the kernel's btime) is this boot's:
// purging a record libvirtd wrote a second off would lose the file's original owner.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { daemonMemoryBootTime } from './daemon-memory.js';
import { readSmall } from './small-file.js';

const UTMP_RECORD = 384; // glibc x86_64/aarch64 struct utmpx
const UT_TYPE_BOOT_TIME = 2;
const UT_TV_SEC_OFFSET = 340;
const UTMP_MAX = 4 * 1024 * 1024;
const UTMP_FILES = ['run/utmp', 'var/run/utmp'];
/**
 * USER_HZ, the unit of /proc/PID/stat's start time: 100 on every architecture Linux runs
 * libvirt on (sysconf(_SC_CLK_TCK) reports it; only alpha and ia64 differ).
 */
const CLK_TCK = 100;
const DAEMONS: ReadonlySet<string> = new Set(['libvirtd', 'virtqemud']);
/** Bounds on the /proc walk: process folders looked at, and bytes of each stat file. */
const MAX_PROCS = 100_000;
const STAT_MAX = 4096;
/** How long a found daemon (or its absence) is trusted: a restarted daemon computes anew. */
const DAEMON_TTL_MS = 5000;

/** utmp's BOOT_TIME under `root`, as glibc's getutxid(BOOT_TIME) finds it. */
export function utmpBootTime(root = '/'): number | null {
  for (const rel of UTMP_FILES) {
    // Under a daemon's /proc/PID/root an absolute link (Debian's /var/run -> /run) would lead
    // out to this host's files: only real folders are followed.
    try {
      if (!fs.lstatSync(path.join(root, path.dirname(rel))).isDirectory()) continue;
    } catch {
      continue;
    }
    const data = readSmall(path.join(root, rel), UTMP_MAX);
    if (!data) continue;
    for (let off = 0; off + UTMP_RECORD <= data.length; off += UTMP_RECORD) {
      if (data.readInt16LE(off) === UT_TYPE_BOOT_TIME) {
        const sec = data.readInt32LE(off + UT_TV_SEC_OFFSET);
        if (sec > 0) return sec;
      }
    }
  }
  return null;
}

function btime(): number | null {
  const stat = readSmall('/proc/stat', 1 << 20)?.toString('latin1');
  const m = stat ? /^btime (\d+)$/m.exec(stat) : null;
  return m ? Number(m[1]) : null;
}

function uptime(): number {
  const up = Number.parseFloat(readSmall('/proc/uptime', STAT_MAX)?.toString('latin1').split(' ')[0] ?? '');
  if (!Number.isFinite(up)) throw new Error('cannot tell the host boot time: /proc/uptime is unreadable');
  return up;
}

/**
 * libvirt's procfs boot time (virHostGetBootTimeProcfs) for a daemon that initialised at
 * realtime `realS` (seconds, fractional) with `upS` seconds of uptime: the seconds are floored
 * before the uptime is taken away, and the difference rounded half away from zero (llround).
 */
export function libvirtProcfsBootTime(realS: number, upS: number): number {
  return Math.round(Math.floor(realS) - upS);
}

/**
 * The procfs value a daemon that started `startTicks` clock ticks after boot computed.
 *
 * Its start realtime is this boot's realtime (now - uptime, good to /proc/uptime's 10 ms) plus
 * its start uptime. The rounding edge: libvirt's result is round(boot - frac(start realtime)),
 * so it hinges on the fraction of a second the daemon read the clock at, which we know only to
 * one tick (10 ms), and the daemon reads it a little after exec (a few ms to tens of ms on a
 * busy host). When that fraction lies within those few tens of ms of where the result flips
 * (where boot - frac crosses .5), the prediction can be one second off libvirt's: libvirt then
 * purges diskchain's records (as it would any other boot's), while diskchain still counts
 * libvirt's as this boot's (see sameBoot). Rule (a) in writtenBootTime avoids it wherever a file
 * already carries a record libvirt wrote.
 */
export function predictDaemonBootTime(startTicks: number, nowRealS: number, nowUpS: number): number {
  const upAtStart = startTicks / CLK_TCK;
  return libvirtProcfsBootTime(nowRealS - nowUpS + upAtStart, upAtStart);
}

/** Field 22 (starttime) of a /proc/PID/stat text; the comm in field 2 may hold spaces and ')'. */
export function statStartTicks(stat: string): { comm: string; start: number } | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  // Fields 3.. follow the comm: starttime (22) is the 20th of them.
  const start = Number(stat.slice(close + 2).split(' ')[19]);
  return Number.isSafeInteger(start) && start >= 0 ? { comm: stat.slice(open + 1, close), start } : null;
}

export interface Daemon {
  pid: number;
  startTicks: number;
}

/**
 * The earliest-started libvirtd or virtqemud run by `owner` (root) on this host, by /proc. Any
 * user can name a process libvirtd, so others' are not the daemon.
 */
export function findLibvirtDaemon(procDir = '/proc', owner = 0): Daemon | null {
  let names: string[];
  try {
    names = fs.readdirSync(procDir);
  } catch {
    return null;
  }
  let found: Daemon | null = null;
  for (const name of names.slice(0, MAX_PROCS)) {
    if (!/^\d{1,10}$/.test(name)) continue;
    const s = statStartTicks(readSmall(path.join(procDir, name, 'stat'), STAT_MAX)?.toString('latin1') ?? '');
    if (!s || !DAEMONS.has(s.comm)) continue;
    try {
      if (fs.lstatSync(path.join(procDir, name)).uid !== owner) continue;
    } catch {
      continue;
    }
    if (!found || s.start < found.startTicks) found = { pid: Number(name), startTicks: s.start };
  }
  return found;
}

let daemonCache: { at: number; daemon: string | null; value: number | null } | null = null;

/** The boot time the running libvirt daemon holds, or null when none runs. */
function daemonBootTime(): number | null {
  const now = Date.now();
  if (daemonCache && now - daemonCache.at < DAEMON_TTL_MS) return daemonCache.value;
  const d = findLibvirtDaemon();
  const id = d ? `${d.pid}:${d.startTicks}` : null;
  // The same daemon keeps its value: predicting again could land on the other side of the edge.
  let value = daemonCache?.daemon === id ? daemonCache.value : null;
  if (d && value === null) {
    const kernel = kernelBootTime();
    value =
      utmpBootTime(`/proc/${d.pid}/root`) ??
      (kernel === null ? null : daemonMemoryBootTime(d.pid, kernel)) ??
      predictDaemonBootTime(d.startTicks, now / 1000, uptime());
  }
  daemonCache = { at: now, daemon: id, value };
  return value;
}

let hostCache: number | null = null;

/** Decimal seconds since the epoch, as the running (or a newly started) libvirt writes it. */
export function hostBootTime(): string {
  const d = daemonBootTime();
  if (d !== null) return String(d);
  hostCache ??= utmpBootTime() ?? kernelBootTime() ?? libvirtProcfsBootTime(Date.now() / 1000, uptime());
  return String(hostCache);
}

let kernelCache: { value: number | null } | null = null;

function kernelBootTime(): number | null {
  kernelCache ??= { value: btime() };
  return kernelCache.value;
}

const TOLERANCE_S = 1;

function within(timestamp: number, reference: number | null): boolean {
  return reference !== null && Math.abs(timestamp - reference) <= TOLERANCE_S;
}

const isSeconds = (s: string) => /^\d{1,15}$/.test(s);

/** Whether a recorded timestamp is from the boot `bootTime` (this host's by default). */
export function sameBoot(timestamp: string | null, bootTime: string = hostBootTime()): boolean {
  if (timestamp === null) return false;
  if (timestamp === bootTime) return true;
  if (!isSeconds(timestamp) || !isSeconds(bootTime)) return false;
  const ts = Number(timestamp);
  if (within(ts, Number(bootTime))) return true;
  // This host's boot: libvirtd's own rounding may sit a second off the kernel's btime instead.
  return bootTime === hostBootTime() && within(ts, kernelBootTime());
}

/**
 * The timestamp to write into a new record: one the file already carries for this boot (libvirt
 * wrote it, or it already passed libvirt's exact check), kept as it is, else `bootTime`.
 */
export function writtenBootTime(existing: readonly (string | null)[], bootTime: string): string {
  return existing.find((t) => t !== null && t !== bootTime && sameBoot(t, bootTime)) ?? bootTime;
}
