// Inspect, capture and compute: a Plan the preview shows and the helper re-makes before applying.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChainNode } from '../../../shared/model.js';
import type { Action, Plan, PlanEntry, Refusal, VmProfile } from '../../../shared/plan.js';
import { inspect } from '../core/chain.js';
import { hostBootTime, sameBoot } from '../core/boottime.js';
import { selabelLookup, selinuxPolicyAvailable } from '../native/libc.js';
import { RootSet } from '../change/consent.js';
import { ownerRefusals } from '../change/owners.js';
import { allowedRoots, insideAny } from './allowed.js';
import { computePlan, type PlanContext, type RawChange } from './compute.js';
import { profileProblems, settleProfile } from './profile.js';
import { captureFd, capturePath, type RawState } from '../change/state.js';

export interface PlanWithChanges {
  plan: Plan;
  /** The byte-exact changes behind the plan's entries (never sent to the renderer). */
  changes: RawChange[];
}

export interface PlanOptions {
  /** Use this boot time instead of this process's (the helper adopts the preview's, see bootTimeFor). */
  bootTime?: string;
  /** Inspect with this instead of the chain resolver (tests). */
  resolve?: (topPath: string) => ChainNode;
  /** Keep this plan id (the helper's re-plan). */
  id?: string;
}

/**
 * The context the planner reads the world through. A file inside an allowed root is read the way
 * it will be changed (from the root, no links, no other mount, no execute bits), so what is
 * planned is what the engine will find; anything else is only shown.
 */
export function liveContext(bootTime: string, roots?: RootSet): PlanContext {
  return {
    bootTime,
    capture: (p) => (roots && insideAny(p, roots.roots) ? captureThrough(roots, p) : capturePath(p)),
    defaultContext: (p, mode) => selabelLookup(p, mode),
  };
}

function captureThrough(roots: RootSet, p: string): RawState {
  const fd = roots.openFile(p);
  try {
    return captureFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The boot time to plan with: the preview's when it is this boot's (see sameBoot), else ours. */
export function bootTimeFor(hint?: string): string {
  return hint !== undefined && sameBoot(hint) ? hint : hostBootTime();
}

function resolveTop(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

/** The domain's disks keyed by real paths, as the chains' nodes are (the XML may name a symlink). */
function withRealDiskPaths(p: VmProfile): VmProfile {
  if (!p.disks) return p;
  return {
    ...p,
    disks: p.disks.map((d) => ({
      ...d,
      path: resolveTop(d.path),
      seclabels: [...(d.seclabels ?? [])],
      ...(d.layerSeclabels
        ? { layerSeclabels: Object.fromEntries(Object.entries(d.layerSeclabels).map(([k, v]) => [resolveTop(k), v])) }
        : {}),
    })),
  };
}

/** Plan `action` for several disks of one VM at once (one transaction when applied). */
export function planChangesDetailed(action: Action, topPaths: string[], profileIn: VmProfile, opts: PlanOptions = {}): PlanWithChanges {
  const problems = profileProblems(profileIn, action);
  const profile = problems.length ? profileIn : withRealDiskPaths(settleProfile(profileIn));
  const bootTime = opts.bootTime ?? hostBootTime();
  const plan: Plan = {
    id: opts.id ?? randomUUID(),
    action,
    top: topPaths[0] ? resolveTop(topPaths[0]) : '',
    tops: topPaths.map(resolveTop),
    profile,
    bootTime,
    entries: [],
    refusals: [],
    allowedRoots: [],
    notes: [],
    createdMs: Date.now(),
  };
  if (topPaths.length === 0) {
    plan.refusals.push({ path: '', message: 'no disk image given' });
    return { plan, changes: [] };
  }
  if (problems.length) {
    plan.refusals.push(...problems.map((m) => ({ path: '', message: m })));
    return { plan, changes: [] };
  }
  const owners = ownerRefusals(profile, action);
  if (owners.length) {
    plan.refusals.push(...owners);
    return { plan, changes: [] };
  }
  const resolve = opts.resolve ?? ((p: string) => inspect(p));
  const roots = topPaths.map((p) => resolve(p));
  plan.top = roots[0]!.path;
  plan.tops = roots.map((r) => r.path);
  const allowed = allowedRoots(profile, topPaths);
  plan.allowedRoots = allowed.roots;
  plan.refusals.push(...allowed.refusals);
  const rootSet = new RootSet(allowed.roots);
  let computed;
  try {
    computed = computePlan(action, roots, profile, allowed.roots, liveContext(bootTime, rootSet));
  } finally {
    rootSet.close();
  }
  plan.entries = computed.entries;
  plan.refusals.push(...computed.refusals);
  plan.notes = [...allowed.notes, ...computed.notes];
  if (process.getuid?.() !== 0) {
    plan.notes.push("made without privileges: libvirt's remembered labels (trusted.* xattrs) are invisible here; previewChange() asks the helper for the exact plan");
  }
  if (profile.drivers.includes('selinux') && !selinuxPolicyAvailable() && action === 'restore') {
    plan.notes.push('no SELinux policy on this host: files without a remembered context keep their current one');
  }
  return { plan, changes: plan.refusals.length ? [] : computed.changes };
}

/** The plan for one disk: the API the UI calls. */
export function planChange(action: Action, topPath: string, profile: VmProfile): Plan {
  return planChangesDetailed(action, [topPath], profile).plan;
}

export function planChanges(action: Action, topPaths: string[], profile: VmProfile): Plan {
  return planChangesDetailed(action, topPaths, profile).plan;
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
  if (JSON.stringify(Object.entries(b0.libvirt).sort()) !== JSON.stringify(Object.entries(b1.libvirt).sort())) return "libvirt's remembered labels changed since the preview";
  if (b0.mode !== b1.mode) return 'mode changed since the preview';
  return 'the planned change differs from the preview';
}
