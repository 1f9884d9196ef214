// Verify, then apply: the one way every change is made in the privileged process. The plan the
// user saw counts only as a wish: it is made again from the files themselves, any difference
// from the preview refuses it, and only the fresh plan's changes reach the engine.
import type { ApplyResult, JournalKind, Plan, PlanEntry, Refusal } from '../../../shared/plan.js';
import { hostBootTime, sameBoot } from '../core/boottime.js';
import { execute, type EngineChange } from './engine.js';
import { journalDir } from './journal.js';

/** What a re-plan gives: the fresh plan, its byte-exact changes, and any differences of its own kind. */
export interface Replanned {
  plan: Plan;
  changes: EngineChange[];
  kind: JournalKind;
  /** Differences the generic comparison cannot see (an access fix's folders). */
  differences?: Refusal[];
  /** Problems found on exactly the bytes about to be written. */
  problems?: Refusal[];
  /** Folder ACL changes may touch these folders only. */
  allowedFolders?: string[];
}

function refused(refusals: Refusal[], message: string): ApplyResult {
  return { ok: false, journalId: '', changed: 0, refusals, message };
}

/** Make `asked` again with `replan` (given the boot time to plan with), compare, then apply. */
export function verifyThenApply(asked: Plan, replan: (bootTime: string) => Replanned): ApplyResult {
  if (asked.refusals?.length) return refused(asked.refusals, 'the plan has refusals; nothing was changed');
  const fresh = replan(bootTimeFor(asked.bootTime));
  const plan = fresh.plan;
  if (plan.refusals.length) return refused(plan.refusals, 'refused; nothing was changed');
  if (
    plan.bootTime !== asked.bootTime &&
    asked.entries.some((e) => Object.keys(e.before.libvirt).length || Object.keys(e.after.libvirt).length)
  ) {
    return refused(
      [{ path: plan.top, message: `the host boot time is ${plan.bootTime}, the preview used ${asked.bootTime}: preview again` }],
      'refused; nothing was changed',
    );
  }
  const diffs = [...planDifferences(asked, plan), ...(fresh.differences ?? [])];
  if (diffs.length) return refused(diffs, 'files changed since the preview; nothing was changed');
  if (fresh.problems?.length) return refused(fresh.problems, 'refused; nothing was changed');
  return execute(fresh.changes, {
    dir: journalDir(),
    kind: fresh.kind,
    tops: plan.tops ?? [plan.top],
    bootTime: plan.bootTime,
    planIds: [plan.id],
    allowedRoots: plan.allowedRoots ?? [],
    ...(fresh.allowedFolders ? { allowedFolders: fresh.allowedFolders } : {}),
  });
}

/** The boot time to plan with: the preview's when it is this boot's (see sameBoot), else ours. */
export function bootTimeFor(hint?: string): string {
  return hint !== undefined && sameBoot(hint) ? hint : hostBootTime();
}

function stateKey(e: PlanEntry): string {
  const s = (x: PlanEntry['before']) => JSON.stringify([x.dev, x.ino, x.uid, x.gid, x.mode, x.selinux, Object.entries(x.libvirt).sort()]);
  return `${e.path}|${e.role}|${e.top}|${e.remembered}|${s(e.before)}|${s(e.after)}`;
}

/**
 * How a freshly made plan differs from the one that was previewed: one line per file. Empty
 * when they are the same plan (what was shown is what will be done).
 */
export function planDifferences(asked: Plan, fresh: Plan): Refusal[] {
  const out: Refusal[] = [];
  const a = new Map(asked.entries.map((e) => [e.path + '\0' + (e.disk ?? ''), e]));
  const f = new Map(fresh.entries.map((e) => [e.path + '\0' + (e.disk ?? ''), e]));
  for (const [k, e] of f) {
    const old = a.get(k);
    if (!old) out.push({ path: e.path, message: 'is part of the chain now but was not in the preview' });
    else if (stateKey(old) !== stateKey(e)) out.push({ path: e.path, message: describeDifference(old, e) });
  }
  for (const [k, e] of a) if (!f.has(k)) out.push({ path: e.path, message: 'was in the preview but is not part of the chain any more' });
  return out;
}

function describeDifference(old: PlanEntry, now: PlanEntry): string {
  const b0 = old.before;
  const b1 = now.before;
  if (b0.dev !== b1.dev || b0.ino !== b1.ino) return 'was replaced by another file since the preview';
  if (b0.uid !== b1.uid || b0.gid !== b1.gid) return `owner changed since the preview (${b0.uid}:${b0.gid} → ${b1.uid}:${b1.gid})`;
  if (b0.selinux !== b1.selinux) return `SELinux context changed since the preview (${b0.selinux ?? 'none'} → ${b1.selinux ?? 'none'})`;
  if (JSON.stringify(Object.entries(b0.libvirt).sort()) !== JSON.stringify(Object.entries(b1.libvirt).sort()))
    return "libvirt's remembered labels changed since the preview";
  if (b0.mode !== b1.mode) return 'mode changed since the preview';
  return 'the planned change differs from the preview';
}
