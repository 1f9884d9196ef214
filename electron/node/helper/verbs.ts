// What the privileged helper does for each verb of its contract (change/contract.ts): one handler
// per verb, so a verb without one does not compile. This is where relabel and access meet the
// change engine; the same table serves a process that is root already (`inProcess`).
import type { ApplyResult, Plan } from '../../../shared/plan.js';
import { hostBootTime } from '../core/boottime.js';
import { selinuxEnabled, selinuxPolicyAvailable } from '../native/libc.js';
import { HELPER_PROTOCOL, type HelperVerb, type RequestOf, type ResultOf, type VerbContext } from '../change/contract.js';
import type { VerifyOptions } from '../change/verify.js';
import { recoverAll, undoJournal } from '../change/engine.js';
import { journalDir, listJournals } from '../change/journal.js';
import type { PlanOptions } from '../change/planner.js';
import { applyAccessFixInProcess } from '../access/apply.js';
import { planAccessFix } from '../access/fix.js';
import { applyRelabelInProcess } from '../relabel/apply.js';
import { planChanges, planChangesDetailed } from '../relabel/plan.js';
import { runHooks } from './progress.js';

export type HelperTable = { [V in HelperVerb]: (req: RequestOf<V>, ctx: VerbContext) => ResultOf<V> };

/** Apply a previewed plan in this process: an access fix or a relabel/restore, each re-made by its own planner. */
export function applyInProcess(plan: Plan, opts: Pick<PlanOptions, 'resolve'> & VerifyOptions = {}): ApplyResult {
  // An access fix is compared entry by entry (a digest sent with one is not looked at, so its
  // empty entries differ from the fresh plan's and it is refused).
  if (plan.access)
    return applyAccessFixInProcess(plan, { ...(opts.resolve ? { resolve: opts.resolve } : {}), relabel: planChangesDetailed });
  return applyRelabelInProcess(plan, opts);
}

export const helperTable: HelperTable = {
  probe: () => ({
    protocol: HELPER_PROTOCOL,
    pid: process.pid,
    uid: process.getuid?.() ?? -1,
    bootTime: hostBootTime(),
    selinuxEnabled: selinuxEnabled(),
    selinuxPolicy: selinuxPolicyAvailable(),
    journalDir: journalDir(),
  }),
  plan: (r) => planChanges(r.action, r.tops, r.profile),
  apply: (r, ctx) =>
    applyInProcess(r.plan as Plan, { ...(r.entriesDigest ? { digest: r.entriesDigest } : {}), ...runHooks(ctx, r.progress === true) }),
  rollback: (r) => undoJournal(journalDir(), r.journalId),
  undo: (r) => undoJournal(journalDir(), r.journalId),
  recover: () => recoverAll(journalDir()),
  list: () => listJournals(),
  'access-plan': (r) => planAccessFix(r.path, r.profile, { relabel: planChangesDetailed }),
};

/** Run one verb's handler (the table indexed with a verb the caller checked). */
export function runVerb<V extends HelperVerb>(verb: V, body: RequestOf<V>, ctx: VerbContext = {}): ResultOf<V> {
  return (helperTable[verb] as (req: RequestOf<V>, ctx: VerbContext) => ResultOf<V>)(body, ctx);
}
