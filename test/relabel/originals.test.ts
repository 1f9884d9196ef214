// diskchain's own memory of original owners: libvirt deletes its trusted.libvirt.security.*
// records at VM stop even when a diskchain relabel still counts on them (measured on libvirt
// 11.3); a later diskchain restore must still give the true original owner back, not root:root.
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostBootTime, sameBoot } from '../../electron/node/core/boottime.js';
import { originalsFile, readOriginals } from '../../electron/node/change/originals.js';
import { fremovexattr, lsetxattr } from '../../electron/node/native/libc.js';
import { planChange } from '../../electron/node/relabel/index.js';
import type { Plan } from '../../shared/plan.js';
import { tempDir } from '../support/qemu.js';
import { PREFIX, libvirtAttrs, makeChain, owner, profile, type Chain } from '../support/chain.js';
import { stateDir } from '../support/state.js';
import { applyInProcess } from '../support/apply.js';

let tmp: { dir: string; cleanup: () => void };
let chain: Chain;
const dac = () => profile({ drivers: ['dac'] });

beforeEach(() => {
  tmp = tempDir('diskchain-originals-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  chain = makeChain(tmp.dir);
  fs.chownSync(chain.top, 1000, 1000);
  fs.chmodSync(chain.top, 0o600);
  fs.chownSync(chain.topData, 1000, 1001);
});
afterEach(() => {
  delete process.env.DISKCHAIN_STATE_DIR;
  tmp.cleanup();
});

async function apply(plan: Plan) {
  expect((await applyInProcess(plan)).message).toBeUndefined();
}

/** What libvirt does to a file it labelled at VM start (refcount up, or a first record). */
function libvirtStart(file: string, original: string): void {
  const ref = libvirtAttrs(file).ref_dac;
  if (ref) lsetxattr(file, `${PREFIX}ref_dac`, String(Number(ref) + 1));
  else {
    lsetxattr(file, `${PREFIX}dac`, original);
    lsetxattr(file, `${PREFIX}ref_dac`, '1');
    lsetxattr(file, `${PREFIX}timestamp_dac`, hostBootTime());
  }
  fs.chownSync(file, 107, 107);
}

/** What libvirt 11.3 does at VM stop when the refcount was above 1: every record deleted, the VM's owner left. */
function libvirtStop(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    for (const name of Object.keys(libvirtAttrs(file))) fremovexattr(fd, PREFIX + name);
  } finally {
    fs.closeSync(fd);
  }
  fs.chownSync(file, 107, 107);
}

describe('true originals after a libvirt stop', () => {
  it('diskchain relabels, libvirt starts and stops (records wiped, 107:107): restore gives 1000:1000 back', async () => {
    await apply(planChange('relabel', chain.top, dac()));
    expect(readOriginals().map((o) => [o.path, `${o.uid}:${o.gid}`])).toEqual([
      [chain.top, '1000:1000'],
      [chain.topData, '1000:1001'],
    ]);
    expect(fs.statSync(originalsFile()).mode & 0o777).toBe(0o600);
    for (const f of [chain.top, chain.topData]) {
      libvirtStart(f, 'unused');
      expect(libvirtAttrs(f).ref_dac).toBe('2');
      libvirtStop(f);
      expect(libvirtAttrs(f)).toEqual({});
    }
    const restore = planChange('restore', chain.top, dac());
    expect(restore.entries.find((e) => e.path === chain.top)!.note).toContain('the original owner diskchain remembered');
    await apply(restore);
    expect(owner(chain.top)).toBe('1000:1000');
    expect(owner(chain.topData)).toBe('1000:1001');
    expect(fs.statSync(chain.top).mode & 0o777).toBe(0o600);
    // Cleared once given back: a later restore is libvirt's plain fallback again.
    expect(readOriginals()).toEqual([]);
  });

  it('libvirt starts first, diskchain relabels, libvirt stops: the original is the one libvirt remembered', async () => {
    libvirtStart(chain.top, '+1000:+1000');
    await apply(planChange('relabel', chain.top, dac()));
    expect(readOriginals().find((o) => o.path === chain.top)).toMatchObject({ uid: 1000, gid: 1000, set: { uid: 107, gid: 107 } });
    libvirtStop(chain.top);
    await apply(planChange('restore', chain.top, dac()));
    expect(owner(chain.top)).toBe('1000:1000');
  });

  it('a second relabel keeps the first original while the file still has what diskchain gave it', async () => {
    await apply(planChange('relabel', chain.top, dac()));
    libvirtStop(chain.top);
    await apply(planChange('relabel', chain.top, dac()));
    expect(readOriginals().find((o) => o.path === chain.top)).toMatchObject({ uid: 1000, gid: 1000 });
  });

  it('not used for a file someone changed since, nor for another file at the same path', async () => {
    await apply(planChange('relabel', chain.top, dac()));
    libvirtStop(chain.top);
    fs.chownSync(chain.top, 2000, 2000);
    await apply(planChange('restore', chain.top, dac()));
    expect(owner(chain.top)).toBe('0:0');

    await apply(planChange('relabel', chain.topData, dac()));
    libvirtStop(chain.topData);
    const copy = `${chain.topData}.new`;
    fs.copyFileSync(chain.topData, copy);
    fs.chownSync(copy, 107, 107);
    fs.renameSync(copy, chain.topData);
    const restore = planChange('restore', chain.topData, dac());
    expect(restore.entries[0]!.note).not.toContain('diskchain remembered');
  });

  it('an unsafe memory file is not used, and the plan says why', async () => {
    await apply(planChange('relabel', chain.top, dac()));
    libvirtStop(chain.top);
    fs.chmodSync(originalsFile(), 0o666);
    const restore = planChange('restore', chain.top, dac());
    expect(restore.notes?.join(' ')).toContain('may be read or written by others');
    expect(restore.entries[0]!.after.uid).toBe(0);
  });
});

describe("boot timestamp tolerance: libvirtd's boot time can sit one second off the kernel's btime", () => {
  const kernelBtime = () => Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'latin1'))![1]);

  it('within one second of this boot (or of btime) is this boot; two seconds is another boot', () => {
    const own = hostBootTime();
    for (const d of [-1, 0, 1]) expect(sameBoot(String(Number(own) + d), own)).toBe(true);
    // Two seconds from both this boot's time and the kernel's btime (the two may differ by one).
    const [low, high] = [Math.min(Number(own), kernelBtime()), Math.max(Number(own), kernelBtime())];
    for (const t of [low - 2, high + 2]) expect(sameBoot(String(t), own)).toBe(false);
    for (const d of [-1, 1]) expect(sameBoot(String(kernelBtime() + d))).toBe(true);
    expect(sameBoot('12x', own)).toBe(false);
    expect(sameBoot(null, own)).toBe(false);
  });

  it('a record libvirtd stamped one second after btime is kept and restored from, not purged', async () => {
    await apply(planChange('relabel', chain.top, dac()));
    lsetxattr(chain.top, `${PREFIX}timestamp_dac`, String(kernelBtime() + 1));
    fs.rmSync(originalsFile());
    await apply(planChange('restore', chain.top, dac()));
    expect(owner(chain.top)).toBe('1000:1000');

    await apply(planChange('relabel', chain.top, dac()));
    lsetxattr(chain.top, `${PREFIX}timestamp_dac`, String(Math.max(Number(hostBootTime()), kernelBtime()) + 2));
    fs.rmSync(originalsFile());
    await apply(planChange('restore', chain.top, dac()));
    expect(owner(chain.top)).toBe('0:0');
  });
});
