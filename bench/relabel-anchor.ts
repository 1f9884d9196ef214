// Relabel throughput against an anchor revision, as paired ratios in one run: the same probe
// (plan + apply of relabel, then restore, in-process on a copy of the pool) runs in this tree and
// in a worktree of the anchor, alternately, so drift of the machine cancels in each pair.
// The anchor is the last revision before the consent rules (every open walks from a root, roots
// checked, mount ids compared): `BENCH_ANCHOR=REV` picks another.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Corpus } from './corpus.js';
import { median } from './stats.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DEFAULT_ANCHOR = '921cb8f';
const PAIRS = Number(process.env.BENCH_PAIRS ?? 2);

/** The probe each tree runs: its own relabel API, the same files, the numbers as one JSON line. */
const probeScript = (planFrom: string, applyFrom: string) => `
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { planChanges } from '${planFrom}';
import { applyPlan } from '${applyFrom}';
const [pool, copy] = process.argv.slice(2);
execFileSync('cp', ['-a', '--sparse=always', pool, copy]);
const tops = fs.readdirSync(copy).filter((f) => f.startsWith('vm')).map((f) => copy + '/' + f);
const profile = { drivers: ['dac', 'selinux'], user: '+107', group: '+107', readonly: false, shareable: false,
  imageLabel: 'system_u:object_r:svirt_image_t:s0:c10,c20', allowRoots: [copy] };
const out = {};
for (const action of ['relabel', 'restore']) {
  const t0 = performance.now();
  const plan = planChanges(action, tops, profile);
  if (plan.refusals.length) throw new Error(action + ' refused: ' + plan.refusals[0].message);
  const r = await applyPlan(plan, { inProcess: true });
  if (!r.ok) throw new Error(action + ' failed: ' + r.message);
  out[action] = r.changed / ((performance.now() - t0) / 1000);
}
fs.rmSync(copy, { recursive: true, force: true });
console.log(JSON.stringify(out));
`;

function probe(tree: string, pool: string, state: string): { relabel: number; restore: number } {
  const script = path.join(tree, '.bench-relabel-probe.ts');
  // The anchor may predate the electron/node/ layout.
  const old = fs.existsSync(path.join(tree, 'electron/relabel/index.ts'));
  fs.writeFileSync(
    script,
    old
      ? probeScript('./electron/relabel/index.js', './electron/relabel/index.js')
      : probeScript('./electron/node/relabel/index.js', './electron/node/helper/api.js'),
  );
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-bench-anchor-'));
  fs.rmdirSync(copy);
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, pool, copy], {
      cwd: tree,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: { ...process.env, DISKCHAIN_STATE_DIR: state },
    });
    if (r.status !== 0) throw new Error(`relabel probe in ${tree} failed: ${r.stderr.slice(-2000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } finally {
    fs.rmSync(script, { force: true });
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

/** A fresh journal folder root owns alone, all the way up (the consent rules ask for one). */
function journalFolder(): string {
  const base = fs.mkdtempSync('/run/diskchain-bench-');
  fs.chmodSync(base, 0o700);
  return path.join(base, 'state');
}

export function benchRelabelAnchor(c: Corpus): void {
  const anchor = process.env.BENCH_ANCHOR ?? DEFAULT_ANCHOR;
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-anchor-'));
  console.log(`\nrelabel throughput against ${anchor} (the 11,000-file pool, plan + apply in-process, ${PAIRS} pairs)`);
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', tree, anchor], { stdio: 'ignore' });
  } catch {
    console.log(`  skipped: ${anchor} is not in this clone's history`);
    return;
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
  const ratios: Record<'relabel' | 'restore', number[]> = { relabel: [], restore: [] };
  try {
    for (let i = 0; i < PAIRS; i++) {
      const old = probe(tree, c.pool, journalFolder());
      const now = probe(ROOT, c.pool, journalFolder());
      for (const k of ['relabel', 'restore'] as const) {
        ratios[k].push(now[k] / old[k]);
        console.log(`  pair ${i + 1} ${k.padEnd(8)} this tree ${now[k].toFixed(0)} files/s, anchor ${old[k].toFixed(0)} files/s`);
      }
    }
    for (const k of ['relabel', 'restore'] as const) {
      console.log(`  ${k}: this tree / anchor = ${median(ratios[k]).toFixed(2)}x (median of ${PAIRS}; goal ≥ 1.0)`);
    }
  } finally {
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
    for (const d of fs.readdirSync('/run').filter((n) => n.startsWith('diskchain-bench-')))
      fs.rmSync(path.join('/run', d), { recursive: true, force: true });
  }
}
