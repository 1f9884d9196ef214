// The relabel, restore, undo and recover commands as a user runs them.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../shared/plan.js';
import { tempDir } from '../support/qemu.js';
import { diskchain } from '../support/bin.js';
import { IMAGE_LABEL, libvirtAttrs, makeChain, owner, setContext, snapshot, xattr, type Chain } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let chain: Chain;
let env: NodeJS.ProcessEnv;
const who = ['--user', '+107', '--group', '+107'];

beforeEach(() => {
  tmp = tempDir('diskchain-cli-');
  env = { DISKCHAIN_STATE_DIR: stateDir() };
  chain = makeChain(tmp.dir);
  setContext(chain.all);
});
afterEach(() => tmp.cleanup());

describe('diskchain relabel / restore', () => {
  it('--dry-run prints the plan and changes nothing; the same command without it applies that plan', () => {
    const before = snapshot(chain.all);
    const dry = diskchain(['relabel', '--driver', 'all', ...who, '--label', IMAGE_LABEL, '--dry-run', chain.top], { env });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/image +.*top\.qcow2 +\[remembered\]/);
    expect(dry.stdout).toMatch(
      /root:root \(0:0\) system_u:object_r:virt_image_t:s0 → 107:kvm \(107:107\) system_u:object_r:svirt_image_t:s0:c12,c345/,
    );
    expect(dry.stdout).toMatch(/5 files to change/);
    expect(snapshot(chain.all)).toEqual(before);

    const json = diskchain(['relabel', '--driver', 'all', ...who, '--label', IMAGE_LABEL, '--dry-run', '--json', chain.top], { env });
    const plan: Plan = JSON.parse(json.stdout);
    expect(snapshot(chain.all)).toEqual(before);

    const run = diskchain(['relabel', '--driver', 'all', ...who, '--label', IMAGE_LABEL, '--json', chain.top], { env });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { plan: applied, result } = JSON.parse(run.stdout) as { plan: Plan; result: unknown };
    expect(result).toMatchObject({ ok: true, changed: 5 });
    // The same plan, but for the boot time: each process rounds now - /proc/uptime itself, as
    // libvirt does, so two runs may be one second apart where there is no utmp boot record.
    const noBoot = (x: unknown) => JSON.stringify(x).replace(/(boot |"timestamp_(dac|selinux)":")\d+/g, '$1B');
    expect(noBoot(applied.entries.map((e) => e.after))).toEqual(noBoot(plan.entries.map((e) => e.after)));
    // What the applied plan said is what the files now are.
    for (const e of applied.entries) {
      expect(owner(e.path)).toBe(`${e.after.uid}:${e.after.gid}`);
      expect(xattr(e.path, 'security.selinux')).toBe(e.after.selinux);
      expect(libvirtAttrs(e.path)).toEqual(e.after.libvirt);
    }
  });

  it('restore, then undo --list, undo and recover', () => {
    expect(diskchain(['relabel', '--driver', 'dac', ...who, chain.top], { env }).status).toBe(0);
    const r = diskchain(['restore', '--driver', 'dac', chain.top], { env });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/backing images keep the VM's labels/);
    expect(owner(chain.top)).toBe('0:0');
    expect(owner(chain.mid)).toBe('107:107');
    const list = diskchain(['undo', '--list'], { env });
    expect(list.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/relabel +committed +5 files/),
      expect.stringMatching(/restore +committed +2 files/),
    ]);
    const u = diskchain(['undo'], { env });
    expect(u.stdout).toMatch(/put back 2 files/);
    expect(owner(chain.top)).toBe('107:107');
    expect(diskchain(['recover'], { env }).stdout).toMatch(/nothing to recover/);
  });

  it('a refusal exits non-zero with one line per offending file and changes nothing', () => {
    fs.unlinkSync(chain.baseData);
    execFileSync('mkfifo', [chain.baseData]);
    fs.linkSync(chain.mid, path.join(tmp.dir, 'mid-link.qcow2'));
    const watched = [chain.top, chain.topData, chain.mid, chain.base];
    const before = snapshot(watched);
    const r = diskchain(['relabel', '--driver', 'all', ...who, chain.top], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^refused: ${chain.mid}: has 2 hard links`)),
      expect.stringMatching(new RegExp(`^refused: ${chain.baseData}: .*FIFO`)),
    ]);
    expect(snapshot(watched)).toEqual(before);
  });

  it('relabels several disks in one run', () => {
    const second = makeChain(tmp.dir, 'b-');
    const r = diskchain(['relabel', '--driver', 'dac', ...who, chain.top, second.top], { env });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/changed 10 files/);
    for (const f of [...chain.all, ...second.all]) expect(owner(f)).toBe('107:107');
  });

  it('says what is wrong with bad options', () => {
    const r = diskchain(['relabel', '--driver', 'dac', '--user', 'no-such-user-here', '--group', '+1', chain.top], { env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Failed to parse user 'no-such-user-here'/);
    const bad = diskchain(['relabel', '--driver', 'selinux', '--label', 'not a label', chain.top], { env });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/invalid SELinux label/);
  });
});
