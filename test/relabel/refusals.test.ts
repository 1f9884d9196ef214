// Everything that must be refused, with nothing at all changed.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan } from '../../electron/node/helper/api.js';
import { planChange } from '../../electron/node/relabel/index.js';
import { execute } from '../../electron/node/change/engine.js';
import { planChangesDetailed } from '../../electron/node/relabel/plan.js';
import type { Plan } from '../../shared/plan.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { diskchain } from '../support/bin.js';
import { makeChain, owner, profile, replaceBytes, setContext, snapshot, type Chain } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let chain: Chain;

beforeEach(() => {
  tmp = tempDir('diskchain-refuse-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  chain = makeChain(tmp.dir);
  setContext(chain.all);
});
afterEach(() => {
  delete process.env.DISKCHAIN_STATE_DIR;
  tmp.cleanup();
});

function refusedPaths(plan: Plan): string[] {
  return plan.refusals.map((r) => r.path);
}

describe('refusals', () => {
  it('a data file outside the allowed folders (/etc/shadow) refuses the whole plan', async () => {
    const img = path.join(tmp.dir, 'evil.qcow2');
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=shadow.data', 'evil.qcow2', '64K');
    replaceBytes(img, 'shadow.data', '/etc/shadow');
    const watched = [img, path.join(tmp.dir, 'shadow.data'), '/etc/shadow'];
    const before = snapshot(watched);
    const plan = planChange('relabel', img, profile());
    expect(refusedPaths(plan)).toEqual(['/etc/shadow']);
    expect(plan.refusals[0]!.message).toMatch(/outside the allowed folders/);
    const r = await applyPlan(plan, { inProcess: true });
    expect(r.ok).toBe(false);
    // Even a tampered request without the refusal is refused by the re-plan.
    const r2 = await applyPlan({ ...plan, refusals: [] }, { inProcess: true });
    expect(r2.ok).toBe(false);
    expect(r2.refusals!.map((x) => x.path)).toContain('/etc/shadow');
    expect(snapshot(watched)).toEqual(before);

    const cli = diskchain(['relabel', '--driver', 'all', '--user', '+107', '--group', '+107', img], {
      env: { DISKCHAIN_STATE_DIR: process.env.DISKCHAIN_STATE_DIR },
    });
    expect(cli.status).not.toBe(0);
    expect(cli.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^refused: \/etc\/shadow: outside the allowed folders/)]);
    expect(snapshot(watched)).toEqual(before);
  });

  it('a backing file in another folder is refused unless that folder is allowed', async () => {
    const other = tempDir('diskchain-other-');
    try {
      qemuImg(other.dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64K');
      qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', path.join(other.dir, 'base.qcow2'), 'x.qcow2');
      const x = path.join(tmp.dir, 'x.qcow2');
      expect(refusedPaths(planChange('relabel', x, profile()))).toEqual([path.join(other.dir, 'base.qcow2')]);
      const ok = planChange('relabel', x, profile({ allowRoots: [other.dir] }));
      expect(ok.refusals).toEqual([]);
      expect(ok.allowedRoots).toContain(other.dir);
    } finally {
      other.cleanup();
    }
  });

  it('refuses / and system folders as allowed roots', () => {
    const plan = planChange('relabel', chain.top, profile({ allowRoots: ['/', '/etc'] }));
    expect(plan.refusals.map((r) => r.path)).toEqual(['/', '/etc']);
  });

  it('a symlink swapped in between preview and apply is refused (re-plan), nothing changes', async () => {
    const victimDir = tempDir('diskchain-victim-');
    try {
      const victim = path.join(victimDir.dir, 'victim');
      fs.writeFileSync(victim, 'secret');
      const plan = planChange('relabel', chain.top, profile());
      expect(plan.refusals).toEqual([]);
      fs.renameSync(chain.topData, chain.topData + '.moved');
      fs.symlinkSync(victim, chain.topData);
      const watched = [chain.top, chain.topData + '.moved', chain.mid, chain.base, chain.baseData, victim];
      const before = snapshot(watched);
      const r = await applyPlan(plan, { inProcess: true });
      expect(r.ok).toBe(false);
      expect(r.refusals!.map((x) => x.path)).toContain(victim);
      expect(snapshot(watched)).toEqual(before);
    } finally {
      victimDir.cleanup();
    }
  });

  it('a symlink swapped in after the re-plan is refused by the descriptor check and all is put back', () => {
    const { plan, changes } = planChangesDetailed('relabel', [chain.top], profile());
    expect(plan.refusals).toEqual([]);
    const before = snapshot(chain.all);
    // top.qcow2 is changed first; the data file becomes a link to the base's data file.
    fs.renameSync(chain.topData, chain.topData + '.moved');
    fs.symlinkSync(chain.baseData, chain.topData);
    const r = execute(changes, {
      dir: process.env.DISKCHAIN_STATE_DIR!,
      kind: 'relabel',
      tops: [chain.top],
      bootTime: plan.bootTime,
      allowedRoots: plan.allowedRoots!,
    });
    expect(r.ok).toBe(false);
    expect(r.refusals![0]).toEqual({ path: chain.topData, message: expect.stringMatching(/symbolic link/) });
    fs.unlinkSync(chain.topData);
    fs.renameSync(chain.topData + '.moved', chain.topData);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('a file changed after the re-plan is refused and everything already done is undone', () => {
    const { plan, changes } = planChangesDetailed('relabel', [chain.top], profile());
    const before = snapshot(chain.all);
    fs.chownSync(chain.base, 55, 55); // base.qcow2 is the 4th change: the 3 before it happen first
    before[chain.base]!.uid = 55;
    before[chain.base]!.gid = 55;
    const r = execute(changes, {
      dir: process.env.DISKCHAIN_STATE_DIR!,
      kind: 'relabel',
      tops: [chain.top],
      bootTime: plan.bootTime,
      allowedRoots: plan.allowedRoots!,
    });
    expect(r.ok).toBe(false);
    expect(r.refusals![0]!.path).toBe(chain.base);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('a FIFO in the chain is refused', () => {
    fs.unlinkSync(chain.baseData);
    execFileSync('mkfifo', [chain.baseData]);
    const before = snapshot(chain.all);
    const plan = planChange('relabel', chain.top, profile());
    expect(refusedPaths(plan)).toEqual([chain.baseData]);
    expect(plan.refusals[0]!.message).toMatch(/FIFO/);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('a device in the chain is refused', async () => {
    fs.unlinkSync(chain.topData);
    execFileSync('mknod', [chain.topData, 'c', '1', '3']);
    const before = snapshot(chain.all);
    const plan = planChange('relabel', chain.top, profile());
    expect(refusedPaths(plan)).toEqual([chain.topData]);
    expect(plan.refusals[0]!.message).toMatch(/device/);
    expect((await applyPlan({ ...plan, refusals: [] }, { inProcess: true })).ok).toBe(false);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('a hard-linked file is refused unless asked', async () => {
    fs.linkSync(chain.base, path.join(tmp.dir, 'base-link.qcow2'));
    const before = snapshot(chain.all);
    const plan = planChange('relabel', chain.top, profile());
    expect(refusedPaths(plan)).toEqual([chain.base]);
    expect(plan.refusals[0]!.message).toMatch(/2 hard links/);
    expect((await applyPlan(plan, { inProcess: true })).ok).toBe(false);
    expect(snapshot(chain.all)).toEqual(before);
    const asked = planChange('relabel', chain.top, profile({ allowHardLinks: true }));
    expect(asked.refusals).toEqual([]);
    expect((await applyPlan(asked, { inProcess: true })).ok).toBe(true);
    expect(owner(chain.base)).toBe('107:107');
  });

  it('a protocol backing is refused', () => {
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', 'nbd://localhost:10809/x', 'net.qcow2', '1M');
    const plan = planChange('relabel', path.join(tmp.dir, 'net.qcow2'), profile());
    expect(plan.refusals).toHaveLength(1);
    expect(plan.refusals[0]!.message).toMatch(/network|protocol/);
  });

  it('a missing backing file is refused', () => {
    fs.unlinkSync(chain.base);
    const plan = planChange('relabel', chain.top, profile());
    expect(plan.refusals.map((r) => r.message).join()).toMatch(/does not exist/);
  });

  it('a tampered plan (different target than the chain gives) is refused', async () => {
    const plan = planChange('relabel', chain.top, profile());
    const before = snapshot(chain.all);
    const tampered: Plan = JSON.parse(JSON.stringify(plan));
    tampered.entries[2]!.after.uid = 0;
    const r = await applyPlan(tampered, { inProcess: true });
    expect(r.ok).toBe(false);
    expect(r.refusals![0]!.path).toBe(chain.mid);
    const fewer: Plan = { ...plan, entries: plan.entries.slice(0, 2) };
    expect((await applyPlan(fewer, { inProcess: true })).ok).toBe(false);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('a failure half-way (immutable file) rolls back what was done', async () => {
    execFileSync('chattr', ['+i', chain.base]);
    try {
      const before = snapshot(chain.all);
      const plan = planChange('relabel', chain.top, profile());
      const r = await applyPlan(plan, { inProcess: true });
      expect(r.ok).toBe(false);
      expect(r.rolledBack).toBe(true);
      expect(r.refusals![0]!.path).toBe(chain.base);
      expect(snapshot(chain.all)).toEqual(before);
    } finally {
      execFileSync('chattr', ['-i', chain.base]);
    }
  });
});
