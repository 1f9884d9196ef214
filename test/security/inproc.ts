// Root's side of the in-process attacks, run as its own node process (so strace sees exactly
// root's opens): `node --import tsx inproc.ts JOB_JSON`. Prints one JSON line with the outcome.
//   {"job":"cycles", "top", "profile", "cycles"}: relabel `top` and, when that worked, restore it,
//     plan + apply each, `cycles` times, through the in-process API (the helper's own code path).
//   {"job":"open-folder", "folder", "profile", "tops"}: the app's path: openPath(folder), then a
//     plan + apply for every disk it found and for each of `tops`.
import type { VmProfile } from '../../shared/plan.js';
import { openPath, plan as appPlan } from '../../electron/node/session/ops.js';
import { applyPlan } from '../../electron/node/helper/api.js';
import { planChange } from '../../electron/node/relabel/index.js';

interface Outcome {
  ok: number;
  refused: number;
  /** Refusal and error messages, a bounded sample (the test prints them when it fails). */
  messages: string[];
  /** Errors thrown that are programming errors, not refusals (TypeError and the like), bounded too. */
  bugs: string[];
  /** Paths of every entry an applied plan changed. */
  changedPaths: string[];
}

const MAX_MESSAGES = 40;

function note(o: Outcome, m: string): void {
  if (o.messages.length < MAX_MESSAGES) o.messages.push(m);
}

async function attempt(o: Outcome, make: () => ReturnType<typeof planChange>): Promise<boolean> {
  try {
    const p = make();
    if (p.refusals.length) {
      o.refused++;
      note(o, p.refusals.map((r) => `${r.path}: ${r.message}`).join(' | '));
      return false;
    }
    const r = await applyPlan(p, { inProcess: true });
    if (r.ok === false) {
      o.refused++;
      note(o, r.message ?? JSON.stringify(r.refusals));
      return false;
    }
    o.ok++;
    for (const e of p.entries) if (e.changes.length) o.changedPaths.push(e.path);
    return true;
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError) {
      if (o.bugs.length < MAX_MESSAGES) o.bugs.push(String((e as Error).stack ?? e));
    } else {
      o.refused++;
      note(o, `threw: ${(e as Error).message}`);
    }
    return false;
  }
}

async function cycles(job: {
  top: string;
  profile: VmProfile;
  cycles: number;
}): Promise<Outcome & { relabelled: number; restored: number }> {
  const o: Outcome = { ok: 0, refused: 0, messages: [], bugs: [], changedPaths: [] };
  let relabelled = 0;
  let restored = 0;
  for (let i = 0; i < job.cycles; i++) {
    // Restore only what this cycle relabelled: a restore of a file with no record gives it to
    // root:root, as libvirt does, which is no state this test could call consistent.
    if (!(await attempt(o, () => planChange('relabel', job.top, job.profile)))) continue;
    relabelled++;
    if (await attempt(o, () => planChange('restore', job.top, job.profile))) restored++;
  }
  // changedPaths is long here and the same few files: keep the distinct ones.
  return { ...o, changedPaths: [...new Set(o.changedPaths)], relabelled, restored };
}

async function openFolder(job: { folder: string; profile: VmProfile; tops: string[] }): Promise<Outcome & { disks: string[] }> {
  const o: Outcome = { ok: 0, refused: 0, messages: [], bugs: [], changedPaths: [] };
  const opened = openPath(job.folder);
  const folders = [opened.folder ?? job.folder];
  const disks = opened.disks.map((d) => d.top);
  for (const top of [...disks, ...job.tops]) await attempt(o, () => appPlan('relabel', top, job.profile, folders));
  return { ...o, disks };
}

const job = JSON.parse(process.argv[2] ?? '{}');
const result = job.job === 'cycles' ? await cycles(job) : job.job === 'open-folder' ? await openFolder(job) : null;
if (!result) throw new Error(`unknown job ${JSON.stringify(job.job)}`);
process.stdout.write(JSON.stringify(result) + '\n');
