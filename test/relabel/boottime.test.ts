// The boot time diskchain writes: the one the running libvirtd computed (it compares records'
// timestamps with it exactly), predicted from the daemon's start, or kept from a record it wrote.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findLibvirtDaemon,
  hostBootTime,
  libvirtProcfsBootTime,
  predictDaemonBootTime,
  statStartTicks,
  utmpBootTime,
  writtenBootTime,
} from '../../electron/node/core/boottime.js';
import { lsetxattr } from '../../electron/node/native/libc.js';
import { planChangesDetailed } from '../../electron/node/relabel/plan.js';
import { tempDir } from '../support/qemu.js';
import { PREFIX, makeChain, profile, setContext } from '../support/chain.js';

describe('a running libvirtd', () => {
  // Not a real process named libvirtd: every diskchain on this host would take its boot time.
  function fakeProc(procs: [string, string, number][]): { dir: string; cleanup: () => void } {
    const t = tempDir('diskchain-proc-');
    for (const [pid, comm, start] of procs) {
      fs.mkdirSync(path.join(t.dir, pid));
      const fields = ['S', ...Array.from({ length: 18 }, () => '0'), String(start), '0'];
      fs.writeFileSync(path.join(t.dir, pid, 'stat'), `${pid} (${comm}) ${fields.join(' ')}\n`);
    }
    fs.mkdirSync(path.join(t.dir, 'self'));
    return t;
  }

  it('is found in /proc by its comm, the earliest started of libvirtd and virtqemud', () => {
    const t = fakeProc([
      ['10', 'bash', 5],
      ['20', 'libvirtd', 900],
      ['30', 'virtqemud', 700],
      ['40', 'libvirtd-x', 1],
    ]);
    try {
      const owner = process.getuid?.() ?? 0;
      expect(findLibvirtDaemon(t.dir, owner)).toEqual({ pid: 30, startTicks: 700 });
      fs.rmSync(path.join(t.dir, '30'), { recursive: true });
      expect(findLibvirtDaemon(t.dir, owner)).toEqual({ pid: 20, startTicks: 900 });
      fs.rmSync(path.join(t.dir, '20'), { recursive: true });
      expect(findLibvirtDaemon(t.dir, owner)).toBeNull();
    } finally {
      t.cleanup();
    }
  });

  it.skipIf(process.getuid?.() !== 0)('is only a root process: any user can name a process libvirtd', () => {
    const t = fakeProc([
      ['20', 'libvirtd', 900],
      ['30', 'libvirtd', 700],
    ]);
    try {
      const owner = process.getuid?.() ?? 0;
      expect(findLibvirtDaemon(t.dir, owner)).toEqual({ pid: 30, startTicks: 700 });
      fs.chownSync(path.join(t.dir, '30'), owner + 1000, owner + 1000);
      expect(findLibvirtDaemon(t.dir, owner)).toEqual({ pid: 20, startTicks: 900 });
    } finally {
      t.cleanup();
    }
  });
});

describe("libvirt's procfs formula", () => {
  it('floors the seconds before taking the uptime away, then rounds half away from zero', () => {
    expect(libvirtProcfsBootTime(1000.99, 10.2)).toBe(990); // 1000 - 10.2 = 989.8
    expect(libvirtProcfsBootTime(1000.01, 10.5)).toBe(990); // 989.5 rounds up
    expect(libvirtProcfsBootTime(1000.01, 10.51)).toBe(989);
  });

  it("predicts the measured case: boot at …645.9, a daemon started 2.2 s later gets …646, not the kernel's …645", () => {
    // Realtime now minus uptime now is the boot's realtime, 1796030645.9.
    expect(predictDaemonBootTime(220, 1796030645.9 + 5000, 5000)).toBe(1796030646);
    // The same boot, a daemon started at 0.3 past a second: 645.9 - 0.3 rounds to 646; at 0.5 past: 645.
    expect(predictDaemonBootTime(240, 1796030645.9 + 5000, 5000)).toBe(1796030646);
    expect(predictDaemonBootTime(260, 1796030645.9 + 5000, 5000)).toBe(1796030645);
  });

  it("reads field 22 of /proc/PID/stat past a comm holding spaces and ')'", () => {
    // Fields 3 (state) to 21, then 22.
    const fields = ['S', ...Array.from({ length: 18 }, (_, i) => String(i + 4)), '4242', '23'];
    expect(statStartTicks(`17 (lib virtd) x) ${fields.join(' ')}`)).toEqual({ comm: 'lib virtd) x', start: 4242 });
    expect(statStartTicks('garbage')).toBeNull();
  });
});

describe('utmp', () => {
  it("finds BOOT_TIME under a daemon's root, and follows no absolute link out of it", () => {
    const t = tempDir('diskchain-utmp-');
    try {
      const rec = Buffer.alloc(384);
      rec.writeInt16LE(2, 0);
      rec.writeInt32LE(1796030600, 340);
      fs.mkdirSync(path.join(t.dir, 'var'));
      fs.symlinkSync('/run', path.join(t.dir, 'var/run'));
      expect(utmpBootTime(t.dir)).toBeNull();
      fs.mkdirSync(path.join(t.dir, 'run'));
      fs.writeFileSync(path.join(t.dir, 'run/utmp'), Buffer.concat([Buffer.alloc(384), rec]));
      expect(utmpBootTime(t.dir)).toBe(1796030600);
    } finally {
      t.cleanup();
    }
  });
});

describe('a record already on the file', () => {
  it("keeps another driver's timestamp of this boot when writing a new record", () => {
    const own = hostBootTime();
    const off = String(Number(own) - 1);
    expect(writtenBootTime([null, off], own)).toBe(off);
    expect(writtenBootTime([String(Number(own) - 5)], own)).toBe(own);
    expect(writtenBootTime([], own)).toBe(own);
  });

  it("a top libvirt remembered a second off our boot time: the new selinux record carries libvirt's timestamp", () => {
    const t = tempDir('diskchain-boottime-plan-');
    try {
      const chain = makeChain(t.dir);
      setContext(chain.all);
      const own = '1796030645';
      const libvirts = '1796030646';
      const records: Record<string, string> = { dac: '+0:+0', ref_dac: '1', timestamp_dac: libvirts };
      for (const [k, v] of Object.entries(records)) lsetxattr(chain.top, PREFIX + k, v);
      fs.chownSync(chain.top, 107, 107);
      const { plan } = planChangesDetailed('relabel', [chain.top], profile(), { bootTime: own });
      expect(plan.refusals).toEqual([]);
      const top = plan.entries.find((e) => e.path === chain.top)!;
      expect(top.after.libvirt).toMatchObject({ ref_dac: '2', timestamp_dac: libvirts, ref_selinux: '1', timestamp_selinux: libvirts });
      // A file without a record gets our own.
      expect(plan.entries.find((e) => e.path === chain.topData)!.after.libvirt.timestamp_selinux).toBe(own);
    } finally {
      t.cleanup();
    }
  });
});
