// Relabel and restore of the whole 11,000-file pool (every overlay as one VM's disk set), on a
// copy so the corpus stays as made. Plan time and apply time (through the helper) separately,
// and the apply against a C floor (bench/floor/relabel-floor.c) making the same changes on
// another copy with the same journal batching: the ratio is the goal (at most 1.5x).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { VmProfile } from '../shared/plan.js';
import { applyPlan, closeHelper, probeHelper } from '../electron/node/helper/api.js';
import { planChanges, planChangesDetailed } from '../electron/node/relabel/index.js';
import { MANAGED_XATTRS, type RawChange } from '../electron/node/change/state.js';
import type { Corpus } from './corpus.js';
import { fmt, median } from './stats.js';
import { stateDir } from '../test/support/state.js';

const GOAL = 1.5;
/** Relabel then restore, each against the floor right after it; the median ratio is reported. */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 2);

/** The floor's input: per file its new owner, the managed xattrs to remove, then those to set. */
function floorSpec(changes: RawChange[]): string {
  const out: string[] = [];
  for (const c of changes) {
    out.push(`F ${c.to.uid} ${c.to.gid} ${c.path}`);
    for (const n of MANAGED_XATTRS) {
      const to = c.to.xattrs[n];
      if (to === undefined && c.from.xattrs[n] !== undefined) out.push(`R ${n}`);
      else if (to !== undefined && to !== c.from.xattrs[n]) out.push(`S ${n} ${to}`);
    }
    out.push('');
  }
  return out.join('\n') + '\n';
}

/** Build the floor with `cc -O2`; null (and why) when there is no compiler. */
function buildFloor(work: string): string | null {
  const bin = path.join(work, 'relabel-floor');
  try {
    execFileSync('cc', ['-O2', '-o', bin, path.join(import.meta.dirname, 'floor/relabel-floor.c')], { stdio: 'pipe' });
    return bin;
  } catch (e) {
    console.log(`  no C floor: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

/** The floor's wall time (ms) for `action` on `pool`, planned in this process. */
function floorMs(bin: string, action: 'relabel' | 'restore', tops: string[], profile: VmProfile, journal: string): number {
  const { plan, changes } = planChangesDetailed(action, tops, profile);
  if (plan.refusals.length) throw new Error(`floor ${action} refused: ${plan.refusals[0]!.message}`);
  const spec = floorSpec(changes);
  const t0 = performance.now();
  execFileSync(bin, [journal], { input: spec, stdio: ['pipe', 'ignore', 'inherit'], maxBuffer: 64 << 20 });
  return performance.now() - t0;
}

function poolTops(pool: string): string[] {
  return fs
    .readdirSync(pool)
    .filter((f) => f.startsWith('vm'))
    .map((f) => path.join(pool, f));
}

export async function benchRelabel(c: Corpus): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-bench-relabel-'));
  const pool = path.join(work, 'pool');
  const floorPool = path.join(work, 'floor-pool');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  process.env.DISKCHAIN_HELPER ??= path.resolve(import.meta.dirname, '../dist/electron/helper.js');
  try {
    execFileSync('cp', ['-a', '--sparse=always', c.pool, pool]);
    execFileSync('cp', ['-a', '--sparse=always', c.pool, floorPool]);
    const tops = poolTops(pool);
    const floor = buildFloor(work);
    const profile: VmProfile = {
      drivers: ['dac', 'selinux'],
      user: '+107',
      group: '+107',
      readonly: false,
      shareable: false,
      imageLabel: 'system_u:object_r:svirt_image_t:s0:c10,c20',
      allowRoots: [pool],
    };
    console.log('\nrelabel / restore: the 11,000-file pool, 9,000 overlays as disks (dac + selinux)');
    // Started before any timing: the ratio is the helper's work, not node's start (nor pkexec's).
    await probeHelper();
    const ratios: Record<'relabel' | 'restore', number[]> = { relabel: [], restore: [] };
    for (let pair = 0; pair < PAIRS; pair++)
      for (const action of ['relabel', 'restore'] as const) {
        let t0 = performance.now();
        const plan = planChanges(action, tops, profile);
        const planMs = performance.now() - t0;
        if (plan.refusals.length) throw new Error(`${action} refused: ${plan.refusals[0]!.message}`);
        const files = new Set(plan.entries.filter((e) => e.changes.length > 0).map((e) => e.path)).size;
        const unique = new Set(plan.entries.map((e) => e.path)).size;
        t0 = performance.now();
        const r = await applyPlan(plan);
        const applyMs = performance.now() - t0;
        if (r.ok === false) throw new Error(`${action} failed: ${r.message ?? JSON.stringify(r.refusals?.slice(0, 3))}`);
        const floorProfile = { ...profile, allowRoots: [floorPool] };
        const fMs = floor ? floorMs(floor, action, poolTops(floorPool), floorProfile, path.join(work, `floor-${action}.journal`)) : NaN;
        console.log(
          `  ${action.padEnd(8)} plan ${fmt(planMs)} (${plan.entries.length} entries); apply ${fmt(applyMs)} for ${files} changed files = ${(files / (applyMs / 1000)).toFixed(0)} files/s (plan + apply: ${(unique / ((planMs + applyMs) / 1000)).toFixed(0)} files/s over ${unique} files)`,
        );
        if (floor) {
          ratios[action].push(applyMs / fMs);
          console.log(`  ${action.padEnd(8)} apply through the helper / C floor = ${(applyMs / fMs).toFixed(2)}x (floor ${fmt(fMs)})`);
        }
      }
    if (floor)
      for (const action of ['relabel', 'restore'] as const)
        console.log(
          `  ${action}: apply through the helper / C floor = ${median(ratios[action]).toFixed(2)}x (median of ${PAIRS}; goal ≤ ${GOAL}x)`,
        );
  } finally {
    closeHelper();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
