// Relabel / Restore in the privileged process: the plan made again from the files themselves with
// the user's choices, checked against the preview and applied (change/verify.ts).
import type { ApplyResult, Plan } from '../../../shared/plan.js';
import { noteOriginals } from '../change/originals.js';
import { verifyThenApply, type VerifyOptions } from '../change/verify.js';
import { planChangesDetailed, type PlanOptions } from './plan.js';

/** Apply a previewed relabel or restore in this process. */
export function applyRelabelInProcess(asked: Plan, opts: Pick<PlanOptions, 'resolve'> & VerifyOptions = {}): ApplyResult {
  const tops = asked.tops?.length ? asked.tops : [asked.top];
  const last: { run?: ReturnType<typeof planChangesDetailed> } = {};
  const result = verifyThenApply(
    asked,
    (bootTime) => {
      const run = (last.run = planChangesDetailed(asked.action, tops, asked.profile, {
        bootTime,
        id: asked.id,
        ...(opts.resolve ? { resolve: opts.resolve } : {}),
      }));
      return { plan: run.plan, changes: run.changes, kind: run.plan.action };
    },
    opts,
  );
  if (result.ok === false || !last.run) return result;
  try {
    noteOriginals(last.run.plan, last.run.changes);
  } catch (e) {
    // The files are changed and journalled: say the memory failed, do not report the run failed.
    return { ...result, message: `the original labels could not be remembered: ${(e as Error).message}` };
  }
  return result;
}
