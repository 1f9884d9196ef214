// Relabel and restore of the whole 11,000-file pool (every overlay as one VM's disk set), on a
// copy so the corpus stays as made. Plan time and apply time (through the helper) separately.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { VmProfile } from '../shared/plan.js';
import { applyPlan, closeHelper } from '../electron/node/helper/api.js';
import { planChanges } from '../electron/node/relabel/index.js';
import type { Corpus } from './corpus.js';
import { fmt } from './stats.js';
import { stateDir } from '../test/support/state.js';

export async function benchRelabel(c: Corpus): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-bench-relabel-'));
  const pool = path.join(work, 'pool');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  process.env.DISKCHAIN_HELPER ??= path.resolve(import.meta.dirname, '../dist/electron/helper.js');
  try {
    execFileSync('cp', ['-a', '--sparse=always', c.pool, pool]);
    const tops = fs
      .readdirSync(pool)
      .filter((f) => f.startsWith('vm'))
      .map((f) => path.join(pool, f));
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
      console.log(
        `  ${action.padEnd(8)} plan ${fmt(planMs)} (${plan.entries.length} entries); apply ${fmt(applyMs)} for ${files} changed files = ${(files / (applyMs / 1000)).toFixed(0)} files/s (plan + apply: ${(unique / ((planMs + applyMs) / 1000)).toFixed(0)} files/s over ${unique} files)`,
      );
    }
  } finally {
    closeHelper();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
