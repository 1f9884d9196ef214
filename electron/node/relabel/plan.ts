// Inspect, capture and compute: a Plan the preview shows and the helper re-makes before applying.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Action, Plan, Refusal, VmProfile } from '../../../shared/plan.js';
import { inspect, inspectCache } from '../core/chain.js';
import { subtreeMemo } from '../core/chain-memo.js';
import { hostBootTime } from '../core/boottime.js';
import { selabelLookup, selinuxPolicyAvailable } from '../native/libc.js';
import { RootSet, insideAny, throughPkexec } from '../change/consent.js';
import { giveOwners, giveProblem, ownerRefusals } from '../change/owners.js';
import { profileRoots } from '../change/profile-roots.js';
import { computePlan, type PlanContext, type RawChange } from './compute.js';
import { settleProfile } from '../libvirt/image-label.js';
import { profileProblems } from './profile.js';
import { captureFd, capturePath, type RawState } from '../change/state.js';
import type { PlanOptions, PlanWithChanges } from '../change/planner.js';

export type { PlanOptions, PlanWithChanges };

/**
 * The context the planner reads the world through. A file inside an allowed root is read the way
 * it will be changed (from the root, no links, no other mount, no execute bits), so what is
 * planned is what the engine will find; anything else is only shown.
 */
export function liveContext(bootTime: string, roots?: RootSet): PlanContext {
  // One plan reads each file once: a base shared by many overlays is met once per disk, and
  // computePlan carries what earlier disks left on it (a failed read is not kept: met again, it
  // is refused again with its own reason).
  const seen = new Map<string, RawState>();
  const contexts = new Map<string, string | null>();
  return {
    bootTime,
    capture: (p) => {
      let s = seen.get(p);
      if (!s) {
        s = roots && insideAny(p, roots.roots) ? captureThrough(roots, p) : capturePath(p);
        seen.set(p, s);
      }
      return s;
    },
    defaultContext: (p, mode) => {
      const key = `${mode}\0${p}`;
      if (!contexts.has(key)) contexts.set(key, selabelLookup(p, mode));
      return contexts.get(key)!;
    },
  };
}

function captureThrough(roots: RootSet, p: string): RawState {
  const { fd, st } = roots.openFileWithStat(p);
  try {
    return captureFd(fd, st);
  } finally {
    fs.closeSync(fd);
  }
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

/**
 * Whether the domain has libvirt open this top as raw (`<driver type='raw'>` or none): libvirt
 * never probes, so it reads no backing or data file from the header and labels the top alone.
 */
function statedRaw(profile: VmProfile, top: string): boolean {
  if (!profile.disks?.length) return false;
  const real = resolveTop(top);
  const d = profile.disks.find((x) => x.path === real);
  return d?.format === null || d?.format === 'raw';
}

function unstatedFormatNotes(profile: VmProfile, tops: string[]): string[] {
  return (profile.disks ?? [])
    .filter((d) => d.format === null && tops.includes(d.path))
    .map(
      (d) =>
        `disk ${d.target ?? d.path}: the domain states no <driver type>, so ${d.path} is planned as raw, as libvirt opens it: only it is labelled, no backing or data file from its header`,
    );
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
  if (throughPkexec() && profile.allowHardLinks)
    owners.push({
      path: '',
      message: "hard-linked files can be allowed by root only, not through pkexec (a link may be another user's file)",
    });
  if (owners.length) {
    plan.refusals.push(...owners);
    return { plan, changes: [] };
  }
  // One batch: a base shared by many overlays is walked once (headers keyed by identity and
  // times). Never kept between plans: file times can move in steps of a tick or a second, so the
  // re-plan before applying reads every header again to see the disks name what they named.
  const cache = { ...inspectCache(), subtrees: subtreeMemo(), noLabels: true };
  const resolve = opts.resolve ?? ((p: string) => inspect(p, { cache, ...(statedRaw(profile, p) ? { format: 'raw' as const } : {}) }));
  const roots = topPaths.map((p) => resolve(p));
  plan.top = roots[0]!.path;
  plan.tops = roots.map((r) => r.path);
  const allowed = profileRoots(profile, topPaths);
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
  if (throughPkexec()) plan.refusals.push(...giveRefusals(computed.changes, allowed.roots));
  plan.notes = [...allowed.notes, ...unstatedFormatNotes(profile, plan.tops), ...computed.notes];
  if (process.getuid?.() !== 0) {
    plan.notes.push(
      "made without privileges: libvirt's remembered labels (trusted.* xattrs) are invisible here; previewChange() asks the helper for the exact plan",
    );
  }
  if (profile.drivers.includes('selinux') && !selinuxPolicyAvailable() && action === 'restore') {
    plan.notes.push('no SELinux policy on this host: files without a remembered context keep their current one');
  }
  return { plan, changes: plan.refusals.length ? [] : computed.changes };
}

/** The changes a pkexec caller may not make (shown in the preview; the engine refuses them again). */
function giveRefusals(changes: RawChange[], roots: string[]): Refusal[] {
  const set = new RootSet(roots);
  const owners = giveOwners();
  try {
    return changes.flatMap((c) => {
      let why: string | null;
      try {
        why = giveProblem(c, set.callerOwns(c.path), owners);
      } catch (e) {
        why = (e as Error).message;
      }
      return why ? [{ path: c.path, message: why }] : [];
    });
  } finally {
    set.close();
  }
}

/** The plan for one disk: the API the UI calls. */
export function planChange(action: Action, topPath: string, profile: VmProfile): Plan {
  return planChangesDetailed(action, [topPath], profile).plan;
}

export function planChanges(action: Action, topPaths: string[], profile: VmProfile): Plan {
  return planChangesDetailed(action, topPaths, profile).plan;
}
