// check-access --fix: the smallest change that lets the VM's process open every file of the
// chain, as a plan to preview (made again by the helper before anything changes):
//   - each folder it cannot search: an x-only ACL entry for the VM's uid (rule.ts);
//   - each file it cannot open as needed: libvirt's own DAC relabel of that file (chown to the
//     VM's uid:gid, the top remembered as libvirt remembers it), taken from the relabel planner,
//     plus the owner's r/w bits when the mode lacks them (libvirt never chmods; qemu would fail).
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { AccessProfile, AccessReport } from '../../../shared/access.js';
import type { FolderAclEntry, Plan, PlanEntry, Refusal, VmProfile } from '../../../shared/plan.js';
import { hostBootTime } from '../core/boottime.js';
import { selinuxEnabled } from '../native/libc.js';
import { throughPkexec } from '../change/consent.js';
import { giveProblem, subjectRefusal } from '../change/owners.js';
import { insideAny } from '../change/consent.js';
import { profileRoots } from '../change/profile-roots.js';
import type { EngineChange } from '../change/engine.js';
import type { RelabelPlanner } from '../change/planner.js';
import { settleProfile } from '../libvirt/image-label.js';
import { captureFolderPath, capturePath, cloneRaw, diffStates, sameIdentity, toFolderState } from '../change/state.js';
import { checkAccess, type CheckOptions } from './check.js';
import { folderChangeProblems, folderFix, forbiddenFolder, onTheWay } from './rule.js';

export interface AccessFixOptions extends CheckOptions {
  /** libvirt's relabel planner (relabel/plan.ts planChangesDetailed), for the files the fix relabels. */
  relabel: RelabelPlanner;
  /** Keep this id (the helper's re-plan). */
  id?: string;
  bootTime?: string;
  /** The settled relabel profile of the preview (its image label), for the helper's re-plan. */
  vmProfile?: VmProfile;
}

export interface AccessFixDetailed {
  plan: Plan;
  changes: EngineChange[];
  report: AccessReport;
  /** The folders the helper may change: exactly those of `plan.access.folders`. */
  folders: string[];
}

/** The relabel profile for the files the fix relabels: DAC, plus SELinux where SELinux is on. */
export function vmProfileFor(profile: AccessProfile, seOn = selinuxEnabled()): VmProfile {
  return settleProfile({
    drivers: seOn ? ['dac', 'selinux'] : ['dac'],
    user: profile.user,
    group: profile.group,
    ...(profile.imageLabel ? { imageLabel: profile.imageLabel } : {}),
    readonly: !!profile.readonly,
    shareable: !!profile.shareable,
    allowRoots: [...(profile.allowRoots ?? [])],
    openedFolders: [...(profile.openedFolders ?? [])],
  });
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** The previewed fix for the chain at `topPath`, with the byte-exact changes behind it. */
export function planAccessFixDetailed(topPath: string, asked: AccessProfile, opts: AccessFixOptions): AccessFixDetailed {
  // Through pkexec the groups come from NSS, not from the caller.
  const profile: AccessProfile = throughPkexec() ? { ...asked, groups: undefined } : asked;
  const report = checkAccess(topPath, profile, opts);
  const seOn = opts.selinuxEnabled ?? selinuxEnabled();
  const vm = opts.vmProfile ?? vmProfileFor(profile, seOn);
  const uid = report.subject.uid;
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const changes: EngineChange[] = [];
  const allowed = profileRoots(vm, [topPath]);
  notes.push(...allowed.notes);
  refusals.push(...allowed.refusals);
  const subject = subjectRefusal(uid);
  if (subject) refusals.push(subject);

  // Folders: each one that blocks, once, for the files (inside the allowed folders) behind it.
  const folders: FolderAclEntry[] = [];
  const folderPaths: string[] = [];
  const blockedFolders = new Map<string, string[]>();
  for (const f of report.files) {
    for (const b of f.blockers) {
      if (b.kind !== 'search') continue;
      blockedFolders.set(b.path, [...(blockedFolders.get(b.path) ?? []), f.path]);
    }
  }
  for (const [dir, forFiles] of blockedFolders) {
    const outside = forFiles.filter((p) => !insideAny(p, allowed.roots));
    if (outside.length === forFiles.length) {
      refusals.push({
        path: dir,
        message: `only ${outside.join(', ')} goes through it, outside the allowed folders (${allowed.roots.join(', ') || 'none'}); add its folder with --allow-root`,
      });
      continue;
    }
    let real: string;
    try {
      real = fs.realpathSync.native(dir);
    } catch (e) {
      refusals.push({ path: dir, message: `cannot be resolved (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      continue;
    }
    if (real !== dir || !onTheWay(real, allowed.roots)) {
      refusals.push({
        path: dir,
        message: `is searched only because a name goes through it (by .. or a symbolic link); it is neither inside nor on the way to the allowed folders (${allowed.roots.join(', ') || 'none'}), so diskchain leaves it alone`,
      });
      continue;
    }
    if (forbiddenFolder(dir)) {
      refusals.push({ path: dir, message: 'is a system folder: diskchain never changes it; give the VM search permission there yourself' });
      continue;
    }
    let from;
    try {
      from = captureFolderPath(dir);
    } catch (e) {
      refusals.push({ path: dir, message: `cannot be opened (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      continue;
    }
    const fix = folderFix(from, uid);
    const problems = folderChangeProblems(dir, from, fix.to, uid);
    if (problems.length) {
      refusals.push({ path: dir, message: `the fix would break the folder rule: ${problems.join('; ')}` });
      continue;
    }
    folders.push({
      path: dir,
      before: toFolderState(from),
      after: toFolderState(fix.to),
      changes: fix.changes,
      for: forFiles.filter((p) => insideAny(p, allowed.roots)),
    });
    folderPaths.push(dir);
    const change = { kind: 'folder-acl' as const, path: dir, disk: report.top, from, to: fix.to };
    // What the engine would refuse a pkexec caller, shown in the preview already.
    const given = giveProblem(change, false);
    if (given) refusals.push({ path: dir, message: given });
    changes.push(change);
  }

  // Files: the relabel planner's entries for the files that block (DAC, or SELinux when it is on).
  const needing = new Set<string>();
  for (const f of report.files) {
    if (f.blockers.some((b) => b.kind === 'access' || (b.kind === 'selinux' && b.blocking))) needing.add(f.path);
    for (const b of f.blockers) {
      if (b.kind !== 'search' && b.kind !== 'access' && b.kind !== 'selinux' && b.blocking) {
        notes.push(`not fixed here: ${b.message}`);
      }
    }
  }
  let entries: PlanEntry[] = [];
  if (needing.size) {
    const relabel = opts.relabel('relabel', [report.path], vm, {
      ...(opts.bootTime ? { bootTime: opts.bootTime } : {}),
      ...(opts.resolve ? { resolve: opts.resolve } : {}),
    });
    refusals.push(...relabel.plan.refusals.filter((r) => r.path === '' || needing.has(r.path)));
    notes.push(...(relabel.plan.notes ?? []));
    entries = relabel.plan.entries.filter((e) => needing.has(e.path)).map((e) => ({ ...e, changes: [...e.changes] }));
    const byPath = new Map(
      relabel.changes.filter((c) => needing.has(c.path)).map((c) => [c.path, { ...c, to: { ...c.to, xattrs: { ...c.to.xattrs } } }]),
    );
    for (const e of entries) {
      const f = report.files.find((x) => x.path === e.path)!;
      // After the chown the owner's bits decide (the VM's uid owns it): add what they lack.
      const lack = (f.needed << 6) & ~e.after.mode & 0o600;
      if (e.after.uid === uid && lack) {
        let c = byPath.get(e.path);
        if (!c) {
          // The owner is right already; only the mode changes.
          const live = capturePath(e.path);
          if (!sameIdentity(live, e.before)) {
            refusals.push({ path: e.path, message: 'was replaced by another file since it was inspected' });
            continue;
          }
          c = { path: e.path, disk: e.disk ?? report.top, from: live, to: cloneRaw(live) };
          byPath.set(e.path, c);
        }
        c.to.mode |= lack;
        e.changes.push(`mode ${octal(e.after.mode)} → ${octal(e.after.mode | lack)} (the owner needs ${f.needed & 2 ? 'rw' : 'r'})`);
        e.after = { ...e.after, mode: e.after.mode | lack };
      }
    }
    for (const c of byPath.values()) if (diffStates(c.from, c.to).length) changes.push(c);
  }

  const plan: Plan = {
    id: opts.id ?? randomUUID(),
    action: 'relabel',
    top: report.top,
    tops: [report.top],
    profile: vm,
    bootTime: opts.bootTime ?? hostBootTime(),
    entries,
    refusals,
    allowedRoots: allowed.roots,
    notes,
    createdMs: Date.now(),
    access: {
      path: report.path,
      ...(report.subject.groupsSource === 'given' ? { groups: report.subject.groups.slice(1) } : {}),
      folders,
    },
  };
  return { plan, changes: refusals.length ? [] : changes, report, folders: folderPaths };
}

/** The previewed fix (what the CLI prints and the app shows). */
export function planAccessFix(topPath: string, profile: AccessProfile, opts: AccessFixOptions): Plan {
  return planAccessFixDetailed(topPath, profile, opts).plan;
}

/** How a fresh access-fix plan differs from the previewed one, one line per folder. */
export function folderDifferences(asked: FolderAclEntry[], fresh: FolderAclEntry[]): Refusal[] {
  const key = (f: FolderAclEntry) =>
    JSON.stringify([f.before.dev, f.before.ino, f.before.uid, f.before.gid, f.before.mode, f.before.acl, f.after.mode, f.after.acl]);
  const a = new Map(asked.map((f) => [f.path, f]));
  const out: Refusal[] = [];
  for (const f of fresh) {
    const old = a.get(f.path);
    if (!old) out.push({ path: f.path, message: 'needs a change now that was not in the preview' });
    else if (key(old) !== key(f))
      out.push({
        path: f.path,
        message: `changed since the preview (ACL ${old.before.acl ?? 'none'} → ${f.before.acl ?? 'none'}, mode ${octal(old.before.mode)} → ${octal(f.before.mode)})`,
      });
  }
  for (const f of asked)
    if (!fresh.some((x) => x.path === f.path)) out.push({ path: f.path, message: 'was in the preview but needs no change any more' });
  return out;
}
