// Verify, then apply: the one way every change is made in the privileged process. The plan the
// user saw counts only as a wish: it is made again from the files themselves, any difference
// from the preview refuses it, and only the fresh plan's changes reach the engine.
import { createHash } from 'node:crypto';
import type { ApplyResult, JournalKind, Plan, PlanEntry, Refusal } from '../../../shared/plan.js';
import { hostBootTime, sameBoot } from '../core/boottime.js';
import { DIGEST_MISMATCH } from './contract.js';
import { execute, type EngineChange, type ExecuteOptions } from './engine.js';
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

/** How the preview is compared, and what the run reports as it goes. */
export interface VerifyOptions extends Pick<ExecuteOptions, 'onFile' | 'cancelled'> {
  /**
   * entriesDigest of the previewed entries, sent instead of them (`asked.entries` is then not
   * looked at): the fresh plan must hash the same, or nothing is done (DIGEST_MISMATCH).
   */
  digest?: string;
}

/** Make `asked` again with `replan` (given the boot time to plan with), compare, then apply. */
export function verifyThenApply(asked: Plan, replan: (bootTime: string) => Replanned, opts: VerifyOptions = {}): ApplyResult {
  if (asked.refusals?.length) return refused(asked.refusals, 'the plan has refusals; nothing was changed');
  const fresh = replan(bootTimeFor(asked.bootTime));
  const plan = fresh.plan;
  if (plan.refusals.length) return refused(plan.refusals, 'refused; nothing was changed');
  if (opts.digest !== undefined) {
    // The boot time is inside every libvirt record the entries hold, so the digest covers it too.
    if (entriesDigest(plan.entries) !== opts.digest)
      return refused([{ path: plan.top, message: DIGEST_MISMATCH }], 'files changed since the preview; nothing was changed');
  } else if (
    plan.bootTime !== asked.bootTime &&
    asked.entries.some((e) => Object.keys(e.before.libvirt).length || Object.keys(e.after.libvirt).length)
  ) {
    return refused(
      [{ path: plan.top, message: `the host boot time is ${plan.bootTime}, the preview used ${asked.bootTime}: preview again` }],
      'refused; nothing was changed',
    );
  }
  const diffs = [...(opts.digest === undefined ? planDifferences(asked, plan) : []), ...(fresh.differences ?? [])];
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
    ...(opts.onFile ? { onFile: opts.onFile } : {}),
    ...(opts.cancelled ? { cancelled: opts.cancelled } : {}),
  });
}

/** The boot time to plan with: the preview's when it is this boot's (see sameBoot), else ours. */
export function bootTimeFor(hint?: string): string {
  return hint !== undefined && sameBoot(hint) ? hint : hostBootTime();
}

/** What planDifferences compares of an entry, as one JSON text (so no file name can pass for another field). */
function stateKey(e: PlanEntry): string {
  const s = (x: PlanEntry['before']) => {
    const names = Object.keys(x.libvirt).sort();
    return [x.dev, x.ino, x.uid, x.gid, x.mode, x.selinux, names.length, ...names.flatMap((n) => [n, x.libvirt[n]])];
  };
  return JSON.stringify([e.path, e.role, e.top, e.remembered, ...s(e.before), ...s(e.after)]);
}

/**
 * One hash of everything planDifferences compares, in order: the same plan made again from the
 * same files hashes the same, so the helper need not be sent (nor parse) the previewed entries.
 */
export function entriesDigest(entries: readonly PlanEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${stateKey(e)}${JSON.stringify(e.disk ?? '')}\n`);
  return h.digest('hex');
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
