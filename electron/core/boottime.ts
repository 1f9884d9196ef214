// The host boot time exactly as libvirt computes it for its timestamp_* records: utmp's
// BOOT_TIME record when there is one, else round(now - /proc/uptime). Computed once per
// process, as libvirt does, so two records written by one run never disagree.
import * as fs from 'node:fs';

const UTMP_RECORD = 384; // glibc x86_64/aarch64 struct utmpx
const UT_TYPE_BOOT_TIME = 2;
const UT_TV_SEC_OFFSET = 340;
const UTMP_MAX = 4 * 1024 * 1024;

function fromUtmp(file = '/run/utmp'): number | null {
  let data: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > UTMP_MAX) return null;
    data = fs.readFileSync(file);
  } catch {
    return null;
  }
  for (let off = 0; off + UTMP_RECORD <= data.length; off += UTMP_RECORD) {
    if (data.readInt16LE(off) === UT_TYPE_BOOT_TIME) {
      const sec = data.readInt32LE(off + UT_TV_SEC_OFFSET);
      if (sec > 0) return sec;
    }
  }
  return null;
}

function fromProcfs(): number {
  const text = fs.readFileSync('/proc/uptime', 'latin1');
  const up = Number.parseFloat(text.split(' ')[0] ?? '');
  if (!Number.isFinite(up)) throw new Error(`/proc/uptime has an unexpected format: '${text.trim()}'`);
  return Math.floor(Math.floor(Date.now() / 1000) - up + 0.5);
}

let cached: string | null = null;

/** Decimal seconds since the epoch, as libvirt writes it into timestamp_dac / timestamp_selinux. */
export function hostBootTime(): string {
  return (cached ??= String(fromUtmp() ?? fromProcfs()));
}
