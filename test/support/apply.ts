// Apply a plan in-process (no helper process), failing the test on any refusal.
import { expect } from 'vitest';
import { applyPlan } from '../../electron/node/helper/api.js';
import type { Plan } from '../../shared/plan.js';

export async function applyInProcess(plan: Plan) {
  expect(plan.refusals).toEqual([]);
  const r = await applyPlan(plan, { inProcess: true });
  expect(r.refusals ?? []).toEqual([]);
  expect(r.ok).toBe(true);
  return r;
}
