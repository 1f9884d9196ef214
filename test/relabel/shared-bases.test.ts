// One plan walks a base shared by many overlays once (core/chain-memo.ts): the plan is the same
// as when every chain is walked on its own, problems, loops, depth limits and relative names included.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect, inspectCache } from '../../electron/node/core/chain.js';
import { subtreeMemo } from '../../electron/node/core/chain-memo.js';
import { planChangesDetailed } from '../../electron/node/relabel/plan.js';
import type { Action, VmProfile } from '../../shared/plan.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { profile } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let tops: string[];

/** `name` on `backing` (a qcow2), made without opening the backing (it may not exist, or loop). */
function overlay(dir: string, name: string, backing: string): string {
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', 'qcow2', name, '1M');
  return path.join(dir, name);
}

beforeAll(() => {
  tmp = tempDir('diskchain-shared-bases-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  const d = tmp.dir;
  fs.mkdirSync(path.join(d, 'sub'));
  // A clean base with a relative data file, under a middle layer.
  qemuImg(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=base.raw,data_file_raw=on', 'base.qcow2', '1M');
  overlay(d, 'mid.qcow2', 'base.qcow2');
  // A base whose own backing is missing, and a pair that loops.
  overlay(d, 'broken.qcow2', 'gone.qcow2');
  overlay(d, 'loop-a.qcow2', 'loop-b.qcow2');
  overlay(d, 'loop-b.qcow2', 'loop-a.qcow2');
  // A chain past libvirt's 200 layers: its too-deep problem sits inside the shared part.
  qemuImg(d, 'create', '-q', '-f', 'qcow2', 'deep0.qcow2', '1M');
  for (let i = 1; i <= 201; i++) overlay(d, `deep${i}.qcow2`, `deep${i - 1}.qcow2`);
  tops = [
    overlay(d, 'vm1.qcow2', 'mid.qcow2'),
    overlay(d, 'vm2.qcow2', 'mid.qcow2'),
    overlay(d, 'vm3.qcow2', './mid.qcow2'),
    overlay(path.join(d, 'sub'), 'vm4.qcow2', '../mid.qcow2'),
    overlay(d, 'vm5.qcow2', 'base.qcow2'),
    overlay(d, 'vm6.qcow2', 'broken.qcow2'),
    overlay(d, 'vm7.qcow2', 'broken.qcow2'),
    overlay(d, 'vm8.qcow2', 'loop-a.qcow2'),
    overlay(d, 'vm9.qcow2', 'loop-a.qcow2'),
    overlay(d, 'vm10.qcow2', 'deep201.qcow2'),
    overlay(d, 'vm11.qcow2', 'deep201.qcow2'),
    // A top that is a base of the disks before it.
    path.join(d, 'mid.qcow2'),
  ];
});

afterAll(() => {
  delete process.env.DISKCHAIN_STATE_DIR;
  tmp.cleanup();
});

const poolProfile = (): VmProfile => profile({ allowRoots: [tmp.dir] });

describe('a plan over shared bases', () => {
  it('walks a base named alike once: its nodes are shared between the chains', () => {
    const cache = { ...inspectCache(), subtrees: subtreeMemo() };
    const [a, b] = [inspect(tops[0]!, { cache }), inspect(tops[1]!, { cache })];
    expect(a.backing?.path).toBe(path.join(tmp.dir, 'mid.qcow2'));
    expect(b.backing).toBe(a.backing);
  });

  it('never shares a subtree that loops or whose top has a problem', () => {
    const cache = { ...inspectCache(), subtrees: subtreeMemo() };
    const [a, b] = [inspect(tops[7]!, { cache }), inspect(tops[8]!, { cache })];
    expect(b.backing).not.toBe(a.backing);
    expect(b.backing?.backing?.backing?.problems.map((p) => p.code)).toContain('loop');
  });

  for (const action of ['relabel', 'restore'] as Action[])
    it(`plans ${action} exactly as walking each chain on its own does`, () => {
      const opts = { id: 'x', bootTime: '1' };
      const shared = planChangesDetailed(action, tops, poolProfile(), opts);
      const alone = planChangesDetailed(action, tops, poolProfile(), { ...opts, resolve: (p) => inspect(p) });
      const { createdMs: _a, ...s } = shared.plan;
      const { createdMs: _b, ...o } = alone.plan;
      expect(JSON.stringify(s)).toBe(JSON.stringify(o));
      expect(shared.changes).toEqual(alone.changes);
      // Relabel targets the backing images: their problems are refusals naming each chain's files.
      if (action === 'relabel') {
        expect(shared.plan.refusals.map((r) => path.basename(r.path))).toEqual(expect.arrayContaining(['gone.qcow2', 'loop-a.qcow2']));
        expect(shared.plan.refusals.some((r) => /more than 200 images/.test(r.message))).toBe(true);
      }
    });
});
