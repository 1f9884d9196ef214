// Relabel and restore on real qemu-img chains, checked against what libvirt leaves on the files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostBootTime } from '../../electron/node/core/boottime.js';
import { lsetxattr } from '../../electron/node/native/libc.js';
import { applyPlan, undo } from '../../electron/node/helper/api.js';
import { planChange, planChanges } from '../../electron/node/relabel/index.js';
import { CONTENT_LABEL, SHARED_IMAGE_LABEL } from '../../shared/plan.js';
import { tempDir } from '../support/qemu.js';
import {
  CONTENT,
  IMAGE_LABEL,
  ORIGINAL_CONTEXT,
  PREFIX,
  libvirtAttrs,
  makeChain,
  owner,
  profile,
  setContext,
  snapshot,
  xattr,
  type Chain,
} from '../support/chain.js';
import { stateDir } from '../support/state.js';
import { applyInProcess } from '../support/apply.js';

let tmp: { dir: string; cleanup: () => void };
let chain: Chain;
const boot = hostBootTime();

beforeEach(() => {
  tmp = tempDir('diskchain-relabel-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  chain = makeChain(tmp.dir);
});
afterEach(() => {
  delete process.env.DISKCHAIN_STATE_DIR;
  tmp.cleanup();
});

const apply = applyInProcess;

describe('DAC', () => {
  it('relabels every file of a 3-deep chain with data files, remembering only the top and its data file', async () => {
    fs.chownSync(chain.top, 1234, 1235);
    lsetxattr(chain.top, 'user.keep', 'me');
    const plan = planChange('relabel', chain.top, profile({ drivers: ['dac'] }));
    expect(plan.entries.map((e) => [path.basename(e.path), e.role, e.top, e.remembered])).toEqual([
      ['top.qcow2', 'image', true, true],
      ['top.raw', 'data-file', true, true],
      ['mid.qcow2', 'backing', false, false],
      ['base.qcow2', 'backing', false, false],
      ['base.raw', 'data-file', false, false],
    ]);
    const r = await apply(plan);
    expect(r.changed).toBe(5);
    for (const f of chain.all) expect(owner(f)).toBe('107:107');
    expect(libvirtAttrs(chain.top)).toEqual({ dac: '+1234:+1235', ref_dac: '1', timestamp_dac: boot });
    expect(libvirtAttrs(chain.topData)).toEqual({ dac: '+0:+0', ref_dac: '1', timestamp_dac: boot });
    for (const f of [chain.mid, chain.base, chain.baseData]) expect(libvirtAttrs(f)).toEqual({});
    for (const f of chain.all) expect(xattr(f, 'security.selinux')).toBeNull();
    expect(xattr(chain.top, 'user.keep')).toBe('me');
  });

  it('round trip: restore gives the top and its data file back, backing files keep the VM owner', async () => {
    fs.chownSync(chain.top, 1234, 1235);
    const before = snapshot(chain.all);
    await apply(planChange('relabel', chain.top, profile({ drivers: ['dac'] })));
    const restore = planChange('restore', chain.top, profile({ drivers: ['dac'] }));
    expect(restore.entries.filter((e) => e.changes.length).map((e) => e.path)).toEqual([chain.top, chain.topData]);
    await apply(restore);
    const after = snapshot(chain.all);
    expect(after[chain.top]).toEqual(before[chain.top]);
    expect(after[chain.topData]).toEqual(before[chain.topData]);
    for (const f of [chain.mid, chain.base, chain.baseData]) expect(owner(f)).toBe('107:107');
    for (const f of chain.all) expect(Object.keys(libvirtAttrs(f))).toEqual([]);
  });

  it('restore without a record gives root:root, as libvirt does', async () => {
    fs.chownSync(chain.top, 107, 107);
    const plan = planChange('restore', chain.top, profile({ drivers: ['dac'] }));
    await apply(plan);
    expect(owner(chain.top)).toBe('0:0');
    expect(plan.entries[0]!.note).toMatch(/root:root/);
  });

  it('takes names and +N for user and group', async () => {
    const plan = planChange('relabel', chain.top, profile({ drivers: ['dac'], user: 'root', group: 'kvm' }));
    expect(plan.refusals).toEqual([]);
    expect(plan.entries[2]!.after.uid).toBe(0);
    expect(plan.entries[2]!.after.gid).toBe(107);
  });
});

describe('SELinux', () => {
  it('round trip on a 3-deep chain: image label on the top and its data file, content label below', async () => {
    setContext(chain.all);
    const before = snapshot(chain.all);
    await apply(planChange('relabel', chain.top, profile({ drivers: ['selinux'] })));
    expect(xattr(chain.top, 'security.selinux')).toBe(IMAGE_LABEL);
    expect(xattr(chain.topData, 'security.selinux')).toBe(IMAGE_LABEL);
    for (const f of [chain.mid, chain.base, chain.baseData]) expect(xattr(f, 'security.selinux')).toBe(CONTENT);
    for (const f of [chain.top, chain.topData]) {
      expect(libvirtAttrs(f)).toEqual({ selinux: ORIGINAL_CONTEXT, ref_selinux: '1', timestamp_selinux: boot });
    }
    for (const f of [chain.mid, chain.base, chain.baseData]) expect(libvirtAttrs(f)).toEqual({});
    // Owners untouched by SELinux alone.
    for (const f of chain.all) expect(owner(f)).toBe('0:0');

    await apply(planChange('restore', chain.top, profile({ drivers: ['selinux'] })));
    const after = snapshot(chain.all);
    expect(after[chain.top]).toEqual(before[chain.top]);
    expect(after[chain.topData]).toEqual(before[chain.topData]);
    for (const f of [chain.mid, chain.base, chain.baseData]) expect(xattr(f, 'security.selinux')).toBe(CONTENT);
  });

  it('does not remember a file that has no context (libvirt remembers only an existing one)', async () => {
    const plan = planChange('relabel', chain.top, profile({ drivers: ['selinux'] }));
    expect(plan.entries[0]!.remembered).toBe(false);
    await apply(plan);
    expect(libvirtAttrs(chain.top)).toEqual({});
    expect(xattr(chain.top, 'security.selinux')).toBe(IMAGE_LABEL);
    // Restore then has no record and, without a policy here, leaves the context and says so.
    const restore = planChange('restore', chain.top, profile({ drivers: ['selinux'] }));
    expect(restore.entries[0]!.changes).toEqual([]);
    expect(restore.entries[0]!.note).toMatch(/left as it is/);
  });

  it('readonly: content label on the top, nothing remembered, nothing restored', async () => {
    setContext(chain.all);
    await apply(planChange('relabel', chain.top, profile({ readonly: true })));
    expect(xattr(chain.top, 'security.selinux')).toBe(CONTENT_LABEL);
    expect(xattr(chain.topData, 'security.selinux')).toBe(CONTENT_LABEL);
    for (const f of chain.all) expect(libvirtAttrs(f)).toEqual({});
    const restore = planChange('restore', chain.top, profile({ readonly: true }));
    expect(restore.entries.every((e) => e.changes.length === 0)).toBe(true);
  });

  it('shareable: svirt_image_t:s0 without categories on the top, nothing remembered', async () => {
    setContext(chain.all);
    await apply(planChange('relabel', chain.top, profile({ shareable: true })));
    expect(xattr(chain.top, 'security.selinux')).toBe(SHARED_IMAGE_LABEL);
    expect(xattr(chain.topData, 'security.selinux')).toBe(SHARED_IMAGE_LABEL);
    expect(xattr(chain.mid, 'security.selinux')).toBe(CONTENT_LABEL);
    for (const f of chain.all) expect(libvirtAttrs(f)).toEqual({});
  });

  it('makes an image label with two distinct random categories when none is given', () => {
    const plan = planChange('relabel', chain.top, profile({ imageLabel: undefined }));
    const m = /^system_u:object_r:svirt_image_t:s0:c(\d+),c(\d+)$/.exec(plan.profile.imageLabel!);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(Number(m![2]));
    expect(Number(m![2])).toBeLessThanOrEqual(1023);
    expect(plan.entries[0]!.after.selinux).toBe(plan.profile.imageLabel);
  });
});

describe('both drivers', () => {
  it('round trip and undo', async () => {
    setContext(chain.all);
    fs.chmodSync(chain.base, 0o640);
    const before = snapshot(chain.all);
    const r = await apply(planChange('relabel', chain.top, profile()));
    expect(libvirtAttrs(chain.top)).toEqual({
      dac: '+0:+0',
      ref_dac: '1',
      timestamp_dac: boot,
      selinux: ORIGINAL_CONTEXT,
      ref_selinux: '1',
      timestamp_selinux: boot,
    });
    // Undo the relabel: every file exactly as before.
    const u = await undo(r.journalId, { inProcess: true });
    expect(u.ok).toBe(true);
    expect(u.changed).toBe(5);
    expect(snapshot(chain.all)).toEqual(before);
  });
});

describe('remembered records', () => {
  it('the same disk relabelled twice needs two restores', async () => {
    const p = profile({ drivers: ['dac'] });
    await apply(planChange('relabel', chain.top, p));
    const second = planChange('relabel', chain.top, p);
    expect(second.entries[0]!.changes).toEqual(['dac refcount 1 → 2']);
    await apply(second);
    expect(libvirtAttrs(chain.top)).toEqual({ dac: '+0:+0', ref_dac: '2', timestamp_dac: boot });

    const first = planChange('restore', chain.top, p);
    expect(first.entries[0]!.remembered).toBe(true);
    expect(first.entries[0]!.note).toMatch(/still used by another VM/);
    await apply(first);
    expect(owner(chain.top)).toBe('107:107');
    expect(libvirtAttrs(chain.top)).toEqual({ dac: '+0:+0', ref_dac: '1', timestamp_dac: boot });

    await apply(planChange('restore', chain.top, p));
    expect(owner(chain.top)).toBe('0:0');
    expect(libvirtAttrs(chain.top)).toEqual({});
  });

  it('refuses a second relabel with a different owner while in use, changing nothing', async () => {
    await apply(planChange('relabel', chain.top, profile({ drivers: ['dac'] })));
    const before = snapshot(chain.all);
    const plan = planChange('relabel', chain.top, profile({ drivers: ['dac'], user: '+108', group: '+108' }));
    expect(plan.refusals).toContainEqual({
      path: chain.top,
      message: `Setting different DAC user or group on ${chain.top} which is already in use`,
    });
    const r = await applyPlan(plan, { inProcess: true });
    expect(r.ok).toBe(false);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('refuses a different SELinux label on a file in use', async () => {
    setContext(chain.all);
    await apply(planChange('relabel', chain.top, profile({ drivers: ['selinux'] })));
    const plan = planChange(
      'relabel',
      chain.top,
      profile({ drivers: ['selinux'], imageLabel: 'system_u:object_r:svirt_image_t:s0:c1,c2' }),
    );
    expect(plan.refusals.map((r) => r.message)).toContain(`Setting different SELinux label on ${chain.top} which is already in use`);
  });

  it('a stale record (another boot) is purged before remembering', async () => {
    fs.chownSync(chain.top, 107, 107);
    lsetxattr(chain.top, PREFIX + 'dac', '+5:+5');
    lsetxattr(chain.top, PREFIX + 'ref_dac', '3');
    lsetxattr(chain.top, PREFIX + 'timestamp_dac', '12345');
    const plan = planChange('relabel', chain.top, profile({ drivers: ['dac'] }));
    expect(plan.entries[0]!.changes[0]).toMatch(/discard stale dac record \(boot 12345/);
    await apply(plan);
    expect(libvirtAttrs(chain.top)).toEqual({ dac: '+107:+107', ref_dac: '1', timestamp_dac: boot });
  });

  it('a stale record is purged on restore and the owner falls back to root', async () => {
    fs.chownSync(chain.top, 107, 107);
    lsetxattr(chain.top, PREFIX + 'dac', '+5:+5');
    lsetxattr(chain.top, PREFIX + 'ref_dac', '1');
    // No timestamp at all counts as stale too.
    await apply(planChange('restore', chain.top, profile({ drivers: ['dac'] })));
    expect(owner(chain.top)).toBe('0:0');
    expect(libvirtAttrs(chain.top)).toEqual({});
  });

  it("restores what libvirt remembered (libvirt's exact format)", async () => {
    fs.chownSync(chain.top, 107, 107);
    lsetxattr(chain.top, PREFIX + 'dac', '+1234:+1235');
    lsetxattr(chain.top, PREFIX + 'ref_dac', '1');
    lsetxattr(chain.top, PREFIX + 'timestamp_dac', boot);
    lsetxattr(chain.top, 'security.selinux', Buffer.from(IMAGE_LABEL + '\0'));
    lsetxattr(chain.top, PREFIX + 'selinux', ORIGINAL_CONTEXT);
    lsetxattr(chain.top, PREFIX + 'ref_selinux', '1');
    lsetxattr(chain.top, PREFIX + 'timestamp_selinux', boot);
    await apply(planChange('restore', chain.top, profile()));
    expect(owner(chain.top)).toBe('1234:1235');
    expect(xattr(chain.top, 'security.selinux')).toBe(ORIGINAL_CONTEXT);
    expect(libvirtAttrs(chain.top)).toEqual({});
  });

  it('refuses a malformed refcount', () => {
    lsetxattr(chain.top, PREFIX + 'ref_dac', 'x1');
    lsetxattr(chain.top, PREFIX + 'timestamp_dac', boot);
    const plan = planChange('restore', chain.top, profile({ drivers: ['dac'] }));
    expect(plan.refusals[0]!.message).toMatch(/malformed refcount 'x1'/);
  });
});

describe('several disks at once', () => {
  it('two disks sharing a backing image: one change per file, labelled in order', async () => {
    const other = path.join(tmp.dir, 'other.qcow2');
    fs.writeFileSync(path.join(tmp.dir, '.keep'), '');
    const { qemuImg } = await import('../support/qemu.js');
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', 'mid.qcow2', 'other.qcow2');
    const plan = planChanges('relabel', [chain.top, other], profile({ drivers: ['dac'] }));
    expect(plan.refusals).toEqual([]);
    expect(plan.tops).toEqual([chain.top, other]);
    // mid, base and base.raw appear twice; the second time they are already right.
    const second = plan.entries.filter((e) => e.disk === other);
    expect(second.map((e) => [path.basename(e.path), e.changes.length])).toEqual([
      ['other.qcow2', 2],
      ['mid.qcow2', 0],
      ['base.qcow2', 0],
      ['base.raw', 0],
    ]);
    const r = await apply(plan);
    expect(r.changed).toBe(6);
    for (const f of [...chain.all, other]) expect(owner(f)).toBe('107:107');
  });
});
