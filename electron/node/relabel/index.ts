// Relabel / Restore: the API the app and the CLI call. Plans can be made here (planChange, for
// root or a quick unprivileged look) or by the helper (previewChange, exact without root);
// every change goes through the privileged helper, which re-plans and re-checks it all itself
// (see electron/node/helper/).
import * as path from 'node:path';
import type { Action, ApplyResult, JournalSummary, Plan, RecoverResult, VmProfile } from '../../../shared/plan.js';
import type { ProbeResult } from '../change/contract.js';
import { applyPlanInProcess, listJournalInProcess, recoverInProcess, undoInProcess } from './apply.js';
import { helper } from '../change/helper-client.js';
import { planChanges } from './plan.js';
import { SYSTEM_JOURNAL_DIR, journalDir, unfinished } from '../change/journal.js';

export { planChange, planChanges, planChangesDetailed, planDifferences } from './plan.js';
export { closeHelper, helperInvocation } from '../change/helper-client.js';
export { journalDir } from '../change/journal.js';
export { defaultOwner, randomImageLabel } from './profile.js';
export { applyPlanInProcess, recoverInProcess, undoInProcess } from './apply.js';

export interface ChangeOptions {
  /** Do it in this process instead of through the helper (when this process is the helper, or in tests). */
  inProcess?: boolean;
}

/**
 * The plan to preview, exactly as the helper will re-make it. As root it is made here; without
 * privileges the helper makes it (libvirt's trusted.* records are visible to root only, and
 * files may be unreadable), which starts the helper and may ask for authentication.
 */
export async function previewChange(action: Action, tops: string | string[], profile: VmProfile, opts: ChangeOptions = {}): Promise<Plan> {
  const list = Array.isArray(tops) ? tops : [tops];
  if (opts.inProcess || process.getuid?.() === 0) return planChanges(action, list, profile);
  return helper().request<Plan>('plan', { action, tops: list.map((t) => path.resolve(t)), profile });
}

/** Apply a previewed plan through the helper. Resolves with ok:false and refusals when it was refused. */
export async function applyPlan(plan: Plan, opts: ChangeOptions = {}): Promise<ApplyResult> {
  if (opts.inProcess) return applyPlanInProcess(plan);
  return helper().request<ApplyResult>('apply', { plan });
}

/** Revert a whole relabel or restore (default: the newest still in effect). */
export async function undo(id?: string, opts: ChangeOptions = {}): Promise<ApplyResult> {
  if (opts.inProcess) return undoInProcess(id);
  return helper().request<ApplyResult>('undo', id ? { journalId: id } : {});
}

function readableUnfinished(): string[] | null {
  const dirs = [journalDir()];
  if (!process.env.DISKCHAIN_STATE_DIR && process.getuid?.() !== 0) dirs.push(SYSTEM_JOURNAL_DIR);
  try {
    return dirs.flatMap((d) => unfinished(d));
  } catch {
    return null;
  }
}

/**
 * Bring every file of a run killed half-way back to where it was. Cheap when there is nothing to
 * recover (no helper is started then), so the app calls it when it starts.
 */
export async function recover(opts: ChangeOptions = {}): Promise<RecoverResult> {
  if (opts.inProcess) return recoverInProcess();
  const pending = readableUnfinished();
  if (pending && pending.length === 0) return { recovered: [], files: 0, conflicts: [] };
  return helper().request<RecoverResult>('recover');
}

/** Every journalled change, oldest first, with its status. */
export function listJournal(): JournalSummary[] {
  return listJournalInProcess();
}

/** Start the helper (asking for authentication when needed) and report what it sees. */
export async function probeHelper(): Promise<ProbeResult> {
  return helper().request<ProbeResult>('probe');
}
