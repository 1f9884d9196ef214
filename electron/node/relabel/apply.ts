// The privileged side of Relabel / Restore, run inside the helper (or in-process when we are
// the helper already): trust nothing from the request but the user's choices, re-make the plan
// from the files themselves, refuse any difference from what the user was shown, then apply.
import type { ApplyResult, JournalSummary, Plan, RecoverResult } from '../../../shared/plan.js';
import { applyAccessFixInProcess } from '../access/apply.js';
import { execute, recoverAll, undoJournal } from '../change/engine.js';
import { SYSTEM_JOURNAL_DIR, journalDir, readAll, summarize } from '../change/journal.js';
import { bootTimeFor, planChangesDetailed, planDifferences, type PlanOptions } from './plan.js';

function refused(refusals: ApplyResult['refusals'] & object, message: string): ApplyResult {
  return { ok: false, journalId: '', changed: 0, refusals, message };
}

/** Apply a previewed plan in this process. */
export function applyPlanInProcess(asked: Plan, opts: Pick<PlanOptions, 'resolve'> = {}): ApplyResult {
  // An access fix (check-access --fix) is re-checked and re-planned by its own planner.
  if (asked.access) return applyAccessFixInProcess(asked, opts);
  if (asked.refusals?.length) return refused(asked.refusals, 'the plan has refusals; nothing was changed');
  const tops = asked.tops?.length ? asked.tops : [asked.top];
  const { plan: fresh, changes } = planChangesDetailed(asked.action, tops, asked.profile, {
    bootTime: bootTimeFor(asked.bootTime),
    id: asked.id,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });
  if (fresh.refusals.length) return refused(fresh.refusals, 'refused; nothing was changed');
  if (fresh.bootTime !== asked.bootTime && asked.entries.some((e) => Object.keys(e.before.libvirt).length || Object.keys(e.after.libvirt).length)) {
    return refused([{ path: fresh.top, message: `the host boot time is ${fresh.bootTime}, the preview used ${asked.bootTime}: preview again` }], 'refused; nothing was changed');
  }
  const diffs = planDifferences(asked, fresh);
  if (diffs.length) return refused(diffs, 'files changed since the preview; nothing was changed');
  return execute(changes, {
    dir: journalDir(),
    kind: fresh.action,
    tops: fresh.tops ?? [fresh.top],
    bootTime: fresh.bootTime,
    planIds: [fresh.id],
    allowedRoots: fresh.allowedRoots ?? [],
  });
}

export function undoInProcess(id?: string): ApplyResult {
  return undoJournal(journalDir(), id);
}

export function recoverInProcess(): RecoverResult {
  return recoverAll(journalDir());
}

/** Every journal this user can read: ours, and the system one when we are not root. */
export function listJournalInProcess(): JournalSummary[] {
  const dirs = [journalDir()];
  if (!process.env.DISKCHAIN_STATE_DIR && process.getuid?.() !== 0) dirs.push(SYSTEM_JOURNAL_DIR);
  const all = dirs.flatMap((d) => readAll(d));
  return summarize(all.sort((a, b) => a.id.localeCompare(b.id)));
}
