// FINDING 4 — races. While root plans, applies and restores a chain in the attacker's folder,
// the attacker exchanges names (renameat2 RENAME_EXCHANGE, atomically; flat out, or in bursts
// with pauses): the chain's folder with a link to /dev or a folder of decoys, or the top image
// with a symlink or a hard link to root's file. Every cycle must either work on the real files or be refused; no
// device may ever be opened (O_NONBLOCK|O_NOFOLLOW stops neither a swapped parent nor a device),
// nothing outside the allowed folder may change, and the real files must end consistent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VmProfile } from '../../shared/plan.js';
import { PREFIX, xattr } from '../support/chain.js';
import {
  IS_ROOT,
  NOT_ROOT,
  asUser,
  expectNoDeviceOpened,
  expectUntouched,
  qemuImgAs,
  startSwapRacer,
  stateEnv,
  symlinkAs,
  tracedScript,
  useWorld,
  watch,
  type RaceMode,
  type World,
} from './support.js';

const world = useWorld();

const CYCLES = 200;
const VM = { uid: 107, gid: 107 };

function profileFor(w: World): VmProfile {
  return { drivers: ['dac'], user: `+${VM.uid}`, group: `+${VM.gid}`, readonly: false, shareable: false, allowRoots: [w.att] };
}

interface CycleResult {
  ok: number;
  refused: number;
  relabelled: number;
  restored: number;
  messages: string[];
  bugs: string[];
  changedPaths: string[];
}

/** `cycles` relabel+restore cycles on `top` in one root node process under strace. */
function runCycles(w: World, top: string, cycles: number) {
  const r = tracedScript('inproc.ts', [JSON.stringify({ job: 'cycles', top, profile: profileFor(w), cycles })], stateEnv(w));
  if (r.status !== 0) throw new Error(`inproc.ts failed (${r.status ?? r.signal}): ${r.stderr}`);
  return { out: JSON.parse(r.stdout.trim().split('\n').pop()!) as CycleResult, trace: r.trace };
}

/** The file found by inode among `candidates` (the racer may have left it under the other name). */
function byInode(ino: number, candidates: string[]): string {
  const found = candidates.find((p) => {
    try {
      const st = fs.lstatSync(p);
      return st.isFile() && st.ino === ino;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`inode ${ino} is under none of ${candidates.join(', ')}`);
  return found;
}

/**
 * Each file is either as it was or relabelled, never in between: the top's remembered owner
 * (trusted.libvirt.security.ref_dac and .dac) is there exactly when it carries the VM's owner,
 * and names its original owner; a backing file never carries a record.
 */
function expectConsistent(files: { path: string; top: boolean }[], original: { uid: number; gid: number }): void {
  for (const f of files) {
    const st = fs.lstatSync(f.path);
    const owner = `${st.uid}:${st.gid}`;
    const relabelled = owner === `${VM.uid}:${VM.gid}`;
    expect([`${original.uid}:${original.gid}`, `${VM.uid}:${VM.gid}`], f.path).toContain(owner);
    const ref = xattr(f.path, `${PREFIX}ref_dac`);
    if (f.top && relabelled) {
      expect(ref, `${f.path} is ${owner} without a record`).toMatch(/^[1-9]\d*$/);
      expect(xattr(f.path, `${PREFIX}dac`)).toBe(`+${original.uid}:+${original.gid}`);
    } else {
      expect(ref, `${f.path} is ${owner} with a record`).toBeNull();
    }
  }
}

/**
 * The chain: att/<dir>/top.qcow2 on att/<dir>/zero (raw), made by the attacker, named relative
 * to their folder: swapped for a link to /dev, the folder makes `zero` /dev/zero.
 */
function chainIn(w: World, dir: string): { top: string; base: string } {
  const d = path.join(w.att, dir);
  asUser(w.attacker, 'mkdir', [d]);
  qemuImgAs(w.attacker, d, ['create', '-q', '-f', 'raw', 'zero', '1M']);
  qemuImgAs(w.attacker, d, ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'zero', 'top.qcow2']);
  return { top: path.join(d, 'top.qcow2'), base: path.join(d, 'zero') };
}

/** Race `a` ⇄ `b` for CYCLES cycles on `top`; the outcome, checked for what every race must hold. */
async function race(w: World, top: string, a: string, b: string, mode: RaceMode) {
  // Without the racer one cycle works: the refusals below are the race's, not the setup's.
  const control = runCycles(w, top, 1);
  expect(control.out, control.out.messages.join('\n')).toMatchObject({ relabelled: 1, restored: 1 });
  expectNoDeviceOpened(control.trace);
  const x = watch(w);
  const racer = await startSwapRacer(w.attacker, a, b, mode);
  let run;
  let swaps;
  try {
    run = runCycles(w, top, CYCLES);
    ({ swaps } = await racer.stop());
  } finally {
    racer.kill();
  }
  expect(swaps, 'the racer never swapped').toBeGreaterThan(0);
  const { out, trace } = run;
  expect(out.bugs).toEqual([]);
  expect(out.ok + out.refused).toBe(CYCLES + out.relabelled);
  expectNoDeviceOpened(trace);
  expectUntouched(x);
  return out;
}

const MODES: RaceMode[] = ['tight', 'paced'];

/** The folder the chain is in, swapped for: a link to /dev (its `zero` is /dev/zero then), or decoys. */
const FOLDER_DECOYS: [string, (w: World) => void][] = [
  ['a link to /dev', (w) => symlinkAs(w.attacker, '/dev', path.join(w.att, 'e'))],
  [
    "a folder of links to /dev/zero and root's file",
    (w) => {
      const e = path.join(w.att, 'e');
      asUser(w.attacker, 'mkdir', [e]);
      symlinkAs(w.attacker, '/dev/zero', path.join(e, 'top.qcow2'));
      symlinkAs(w.attacker, w.victimSecret, path.join(e, 'zero'));
    },
  ],
];

/** The top image itself, swapped for a name of root's file. */
const TOP_DECOYS: [string, (w: World, decoy: string) => void][] = [
  ['a symlink', (w, decoy) => symlinkAs(w.attacker, w.victimSecret, decoy)],
  // Root makes the hard link: fs.protected_hardlinks stops the attacker here, not every host sets it.
  ['a hard link', (w, decoy) => fs.linkSync(w.victimSecret, decoy)],
];

describe.skipIf(!IS_ROOT)(`racing root with renameat2 exchanges (${NOT_ROOT})`, () => {
  // FINDING 4: the chain's folder att/d exchanged with a decoy, 200 plan+apply(+restore) cycles.
  it.each(FOLDER_DECOYS.flatMap(([what, make]) => MODES.map((mode) => [what, mode, make] as const)))(
    'att/d swapped with %s (%s): no device opened, the victim unchanged, the chain consistent',
    async (_, mode, decoy) => {
      const w = world();
      const chain = chainIn(w, 'd');
      decoy(w);
      const ino = { top: fs.statSync(chain.top).ino, base: fs.statSync(chain.base).ino };
      const out = await race(w, chain.top, path.join(w.att, 'd'), path.join(w.att, 'e'), mode);
      expect(
        out.changedPaths.filter((p) => p !== chain.top && p !== chain.base),
        out.messages.join('\n'),
      ).toEqual([]);
      // Wherever the racer left the real folder, its files are whole.
      const dirs = ['d', 'e'].map((n) => path.join(w.att, n));
      expectConsistent(
        [
          {
            path: byInode(
              ino.top,
              dirs.map((d) => path.join(d, 'top.qcow2')),
            ),
            top: true,
          },
          {
            path: byInode(
              ino.base,
              dirs.map((d) => path.join(d, 'zero')),
            ),
            top: false,
          },
        ],
        w.attacker,
      );
    },
  );

  // FINDING 4: the top image itself exchanged with a symlink or a hard link to root's file.
  it.each(TOP_DECOYS.flatMap(([what, make]) => MODES.map((mode) => [what, mode, make] as const)))(
    "att/c/top.qcow2 swapped with %s to root's file (%s): the victim unchanged, the chain consistent",
    async (_, mode, makeDecoy) => {
      const w = world();
      const chain = chainIn(w, 'c');
      const decoy = path.join(w.att, 'c', 'decoy');
      makeDecoy(w, decoy);
      const ino = { top: fs.statSync(chain.top).ino, base: fs.statSync(chain.base).ino };
      const out = await race(w, chain.top, chain.top, decoy, mode);
      expect(
        out.changedPaths.filter((p) => p !== chain.top && p !== chain.base),
        out.messages.join('\n'),
      ).toEqual([]);
      expectConsistent(
        [
          { path: byInode(ino.top, [chain.top, decoy]), top: true },
          { path: chain.base, top: false },
        ],
        w.attacker,
      );
    },
  );
});
