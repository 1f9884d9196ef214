// Relabel / Restore in the privileged process: the plan made again from the files themselves with
// the user's choices, checked against the preview and applied (change/verify.ts).
import type { ApplyResult, Plan } from '../../../shared/plan.js';
import { verifyThenApply } from '../change/verify.js';
import { planChangesDetailed, type PlanOptions } from './plan.js';

/** Apply a previewed relabel or restore in this process. */
export function applyRelabelInProcess(asked: Plan, opts: Pick<PlanOptions, 'resolve'> = {}): ApplyResult {
  const tops = asked.tops?.length ? asked.tops : [asked.top];
  return verifyThenApply(asked, (bootTime) => {
    const { plan, changes } = planChangesDetailed(asked.action, tops, asked.profile, {
      bootTime,
      id: asked.id,
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
    });
    return { plan, changes, kind: plan.action };
  });
}
