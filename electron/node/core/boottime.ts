// The host boot time as libvirt writes it into timestamp_dac / timestamp_selinux, and which
// recorded timestamps count as "this boot".
//
// libvirt takes utmp's BOOT_TIME record; without one it rounds `now - /proc/uptime`, which lands
// on one of two neighbouring seconds depending on the moment it computed it. We take utmp too,
// else the kernel's own btime (/proc/stat): stable across our processes and always one of the
// two values libvirt's rounding can give. Only in that case is one second either way the same
// boot; purging a record libvirtd wrote a second off would lose the file's original owner.
import * as fs from 'node:fs';

const UTMP_RECORD = 384; // glibc x86_64/aarch64 struct utmpx
const UT_TYPE_BOOT_TIME = 2;
const UT_TV_SEC_OFFSET = 340;
const UTMP_MAX = 4 * 1024 * 1024;

function fromUtmp(): number | null {
  for (const file of ['/run/utmp', '/var/run/utmp']) {
    let data: Buffer;
    try {
      const st = fs.statSync(file);
      if (!st.isFile() || st.size > UTMP_MAX) continue;
      data = fs.readFileSync(file);
    } catch {
      continue;
    }
    for (let off = 0; off + UTMP_RECORD <= data.length; off += UTMP_RECORD) {
      if (data.readInt16LE(off) === UT_TYPE_BOOT_TIME) {
        const sec = data.readInt32LE(off + UT_TV_SEC_OFFSET);
        if (sec > 0) return sec;
      }
    }
  }
  return null;
}

function fromKernel(): number {
  const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'));
  if (m) return Number(m[1]);
  const up = Number.parseFloat(fs.readFileSync('/proc/uptime', 'latin1').split(' ')[0] ?? '');
  if (!Number.isFinite(up)) throw new Error('cannot tell the host boot time: no utmp record, no btime in /proc/stat');
  return Math.floor(Math.floor(Date.now() / 1000) - up + 0.5);
}

let cached: { value: string; exact: boolean } | null = null;

function boot(): { value: string; exact: boolean } {
  if (!cached) {
    const u = fromUtmp();
    cached = u !== null ? { value: String(u), exact: true } : { value: String(fromKernel()), exact: false };
  }
  return cached;
}

/** Decimal seconds since the epoch, as libvirt writes it. */
export function hostBootTime(): string {
  return boot().value;
}

/** Whether a recorded timestamp is from the boot `bootTime` (this host's by default). */
export function sameBoot(timestamp: string | null, bootTime: string = hostBootTime()): boolean {
  if (timestamp === null) return false;
  if (timestamp === bootTime) return true;
  if (boot().exact || !/^\d{1,20}$/.test(timestamp) || !/^\d{1,20}$/.test(bootTime)) return false;
  return Math.abs(Number(timestamp) - Number(bootTime)) <= 1;
}
