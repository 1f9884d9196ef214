// Applying an access fix, in the helper (or in-process when this process is already root): the
// request is only the user's choices and the preview; the helper checks the chain again, makes
// the fix again, refuses any difference from the preview and any folder change that breaks the
// rule (rule.ts), then applies it with the relabel engine: same journal, rollback, undo, recover.
import type { ApplyResult, Plan, Refusal } from '../../../shared/plan.js';
import { bootTimeFor, planDifferences } from '../relabel/plan.js';
import { execute } from '../change/engine.js';
import { journalDir } from '../change/journal.js';
import { folderDifferences, planAccessFixDetailed, type AccessFixOptions } from './fix.js';
import { folderChangeProblems } from './rule.js';

function refused(refusals: Refusal[], message: string): ApplyResult {
  return { ok: false, journalId: '', changed: 0, refusals, message };
}

export function applyAccessFixInProcess(asked: Plan, opts: Pick<AccessFixOptions, 'resolve' | 'apparmorDir' | 'apparmorSysfs'> = {}): ApplyResult {
  const access = asked.access;
  if (!access) return refused([{ path: asked.top, message: 'not an access-fix plan' }], 'refused; nothing was changed');
  if (asked.refusals?.length) return refused(asked.refusals, 'the plan has refusals; nothing was changed');
  const profile = asked.profile;
  const { plan: fresh, changes, report } = planAccessFixDetailed(access.path, {
    user: profile.user,
    group: profile.group,
    readonly: profile.readonly,
    shareable: profile.shareable,
    allowRoots: profile.allowRoots,
    ...(profile.openedFolders ? { openedFolders: profile.openedFolders } : {}),
    ...(profile.imageLabel ? { imageLabel: profile.imageLabel } : {}),
    ...(access.groups ? { groups: access.groups } : {}),
  }, { ...opts, id: asked.id, bootTime: bootTimeFor(asked.bootTime), vmProfile: profile });
  if (fresh.refusals.length) return refused(fresh.refusals, 'refused; nothing was changed');
  if (fresh.bootTime !== asked.bootTime && asked.entries.some((e) => Object.keys(e.before.libvirt).length || Object.keys(e.after.libvirt).length)) {
    return refused([{ path: fresh.top, message: `the host boot time is ${fresh.bootTime}, the preview used ${asked.bootTime}: preview again` }], 'refused; nothing was changed');
  }
  const diffs = [...planDifferences(asked, fresh), ...folderDifferences(access.folders, fresh.access?.folders ?? [])];
  if (diffs.length) return refused(diffs, 'files changed since the preview; nothing was changed');
  // The rule once more, on exactly the bytes about to be written.
  const broken: Refusal[] = [];
  for (const c of changes) {
    if (c.kind !== 'folder-acl') continue;
    const p = folderChangeProblems(c.path, c.from, c.to, report.subject.uid);
    if (p.length) broken.push({ path: c.path, message: p.join('; ') });
  }
  if (broken.length) return refused(broken, 'refused; nothing was changed');
  return execute(changes, {
    dir: journalDir(),
    kind: 'access-fix',
    tops: [fresh.top],
    bootTime: fresh.bootTime,
    planIds: [fresh.id],
    allowedRoots: fresh.allowedRoots ?? [],
    allowedFolders: changes.filter((c) => c.kind === 'folder-acl').map((c) => c.path),
  });
}
