// The plans this session previewed, and the changes made from them: a plan is applied only by
// its id and exactly as previewed, one change at a time, and the last one can be undone.
import { ContractError } from '../../../shared/ipc.js';
import type { ApplyResult, Plan } from '../../../shared/plan.js';
import { applyPlan, recover, undo } from '../helper/api.js';
import type { Emit } from './host.js';
import { errorText } from '../../../shared/error-text.js';

/** Plans kept for `apply`, oldest dropped first. */
const MAX_PLANS = 32;

export class Plans {
  private readonly kept = new Map<string, Plan>();
  /** The last change applied here, which `undo` reverts. */
  lastJournalId: string | null = null;
  /** One change at a time: a plan is applied or undone whole before the next starts. */
  private changing: Promise<unknown> = Promise.resolve();
  /** The plans being applied, each cancelled by its controller. */
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly emit: Emit) {}

  keep(plan: Plan): Plan {
    this.kept.set(plan.id, plan);
    while (this.kept.size > MAX_PLANS) this.kept.delete(this.kept.keys().next().value!);
    return plan;
  }

  apply(planId: string): Promise<ApplyResult> {
    const plan = this.kept.get(planId);
    if (!plan) throw new ContractError('this preview is out of date; preview the change again');
    if (plan.refusals.length) {
      throw new ContractError(`nothing was changed: ${plan.refusals.map((r) => r.message).join('; ')}`);
    }
    this.kept.delete(planId);
    return this.exclusive(async () => {
      const total =
        plan.entries.filter((e) => e.changes.length > 0).length + (plan.access?.folders.filter((f) => f.changes.length > 0).length ?? 0);
      this.emit('progress', { planId: plan.id, done: 0, total });
      const abort = new AbortController();
      this.running.set(plan.id, abort);
      let result: ApplyResult;
      try {
        result = await applyPlan(plan, {
          signal: abort.signal,
          onProgress: (p) => this.emit('progress', { planId: plan.id, done: p.done, total: p.total, path: p.path, rate: p.rate }),
        });
      } finally {
        this.running.delete(plan.id);
      }
      this.emit('progress', { planId: plan.id, done: result.ok === false ? 0 : total, total });
      if (result.ok !== false && result.journalId) this.lastJournalId = result.journalId;
      return result;
    });
  }

  /**
   * Stop applying `planId`: the helper puts back every file it changed, and the apply answers
   * with a rolled-back result. False when that plan is not being applied (any more).
   */
  cancel(planId: string): boolean {
    const run = this.running.get(planId);
    run?.abort();
    return !!run;
  }

  /** Revert `journalId`, or the last change applied here. */
  undo(journalId: string | undefined): Promise<ApplyResult> {
    const id = journalId ?? this.lastJournalId ?? undefined;
    return this.exclusive(async () => {
      const result = await undo(id);
      if (result.ok !== false && (!journalId || journalId === this.lastJournalId)) this.lastJournalId = null;
      return result;
    });
  }

  /** Put back a change killed half-way, before anything else changes files; what to tell the user. */
  recover(): Promise<string[]> {
    return this.exclusive(async () => {
      const notices: string[] = [];
      try {
        const r = await recover();
        if (r.recovered.length) {
          notices.push(`An interrupted change was put back (${r.files} file${r.files === 1 ? '' : 's'}).`);
        }
        for (const c of r.conflicts) notices.push(`${c.path}: ${c.message}`);
      } catch (e) {
        notices.push(`Could not check for interrupted changes: ${errorText(e)}`);
      }
      return notices;
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changing.then(fn, fn);
    this.changing = run.catch(() => undefined);
    return run;
  }
}
