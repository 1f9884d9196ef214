// Changing files, as the app and the CLI ask for it: through the privileged helper process
// (pkexec when not root), or, with `inProcess`, by running the helper's own handlers here (a
// process that is root already, and tests). Either way the same verbs of change/contract.ts.
import * as path from 'node:path';
import type { Action, ApplyResult, JournalSummary, Plan, RecoverResult, VmProfile } from '../../../shared/plan.js';
import { DIGEST_MISMATCH, type HelperVerb, type ProbeResult, type RequestOf, type ResultOf } from '../change/contract.js';
import { helper, type RequestOptions } from '../change/helper-client.js';
import { entriesDigest } from '../change/verify.js';
import { listJournals, readableJournalDirs, unfinished } from '../change/journal.js';
import type { AccessProfile } from '../../../shared/access.js';
import {
  planAccessFix as planFix,
  planAccessFixDetailed as planFixDetailed,
  type AccessFixDetailed,
  type AccessFixOptions,
} from '../access/fix.js';
import { planChangesDetailed } from '../relabel/plan.js';
import { runVerb } from './verbs.js';

export { closeHelper, helperInvocation } from '../change/helper-client.js';
export { applyInProcess } from './verbs.js';

/** The access fix for the chain at `top`, planned in this process, its files relabelled by libvirt's rules. */
export function planAccessFix(top: string, profile: AccessProfile, opts: Omit<AccessFixOptions, 'relabel'> = {}): Plan {
  return planFix(top, profile, { ...opts, relabel: planChangesDetailed });
}

export function planAccessFixDetailed(
  top: string,
  profile: AccessProfile,
  opts: Omit<AccessFixOptions, 'relabel'> = {},
): AccessFixDetailed {
  return planFixDetailed(top, profile, { ...opts, relabel: planChangesDetailed });
}

export interface ChangeOptions {
  /** Do it in this process instead of through the helper (when this process is the helper, or in tests). */
  inProcess?: boolean;
}

function ask<V extends HelperVerb>(verb: V, body: RequestOf<V>, opts: ChangeOptions & RequestOptions): Promise<ResultOf<V>> {
  if (opts.inProcess) {
    const { onProgress, signal } = opts;
    // In this process the run holds the event loop: only an abort before it starts is seen.
    return Promise.resolve().then(() =>
      runVerb(verb, body, { ...(onProgress ? { progress: onProgress } : {}), ...(signal ? { cancelled: () => signal.aborted } : {}) }),
    );
  }
  return helper().request(verb, body, opts);
}

/**
 * The plan to preview, exactly as the helper will re-make it. As root it is made here; without
 * privileges the helper makes it (libvirt's trusted.* records are visible to root only, and
 * files may be unreadable), which starts the helper and may ask for authentication.
 */
export function previewChange(action: Action, tops: string | string[], profile: VmProfile, opts: ChangeOptions = {}): Promise<Plan> {
  const list = (Array.isArray(tops) ? tops : [tops]).map((t) => path.resolve(t));
  return ask('plan', { action, tops: list, profile }, { inProcess: opts.inProcess || process.getuid?.() === 0 });
}

/**
 * Apply a previewed plan. Resolves with ok:false and refusals when it was refused. A relabel or
 * restore is sent with a digest of its entries instead of them (megabytes for a large pool);
 * when the helper's fresh plan hashes otherwise, the whole plan is sent again so the refusal
 * names each file that differs. Progress and cancel: see RequestOptions.
 */
export async function applyPlan(plan: Plan, opts: ChangeOptions & RequestOptions = {}): Promise<ApplyResult> {
  const progress = opts.onProgress ? { progress: true } : {};
  if (plan.access || plan.refusals.length) return ask('apply', { plan, ...progress }, opts);
  const r = await ask('apply', { plan: { ...plan, entries: [] }, entriesDigest: entriesDigest(plan.entries), ...progress }, opts);
  if (r.ok !== false || r.refusals?.length !== 1 || r.refusals[0]!.message !== DIGEST_MISMATCH) return r;
  return ask('apply', { plan, ...progress }, opts);
}

/** Revert a whole relabel or restore (default: the newest still in effect). */
export function undo(id?: string, opts: ChangeOptions = {}): Promise<ApplyResult> {
  return ask('undo', id ? { journalId: id } : {}, opts);
}

function readableUnfinished(): string[] | null {
  try {
    return readableJournalDirs().flatMap((d) => unfinished(d));
  } catch {
    return null;
  }
}

/**
 * Bring every file of a run killed half-way back to where it was. Cheap when there is nothing to
 * recover (no helper is started then), so the app calls it when it starts.
 */
export function recover(opts: ChangeOptions = {}): Promise<RecoverResult> {
  if (!opts.inProcess && readableUnfinished()?.length === 0) return Promise.resolve({ recovered: [], files: 0, conflicts: [] });
  return ask('recover', {}, opts);
}

/** Every journalled change this process can read, oldest first, with its status. */
export function listJournal(): JournalSummary[] {
  return listJournals();
}

/** Start the helper (asking for authentication when needed) and report what it sees. */
export function probeHelper(): Promise<ProbeResult> {
  return ask('probe', {}, {});
}

/** The access fix to preview, exactly as the helper will make it again (made by the helper without root). */
export function previewAccessFix(top: string, profile: AccessProfile, opts: ChangeOptions = {}): Promise<Plan> {
  return ask('access-plan', { path: path.resolve(top), profile }, { inProcess: opts.inProcess || process.getuid?.() === 0 });
}
