// Applying an access fix, in the helper (or in-process when this process is already root): the
// request is only the user's choices and the preview; the helper checks the chain again, makes
// the fix again, refuses any difference from the preview and any folder change that breaks the
// rule (rule.ts), then applies it with the change engine: same journal, rollback, undo, recover.
import type { ApplyResult, Plan, Refusal } from '../../../shared/plan.js';
import { verifyThenApply } from '../change/verify.js';
import { folderDifferences, planAccessFixDetailed, type AccessFixOptions } from './fix.js';
import { folderChangeProblems } from './rule.js';

/** Apply a previewed access fix in this process; `relabel` plans the files' own relabel. */
export function applyAccessFixInProcess(
  asked: Plan,
  opts: Pick<AccessFixOptions, 'resolve' | 'apparmorDir' | 'apparmorSysfs' | 'relabel'>,
): ApplyResult {
  const access = asked.access;
  if (!access)
    return {
      ok: false,
      journalId: '',
      changed: 0,
      refusals: [{ path: asked.top, message: 'not an access-fix plan' }],
      message: 'refused; nothing was changed',
    };
  const profile = asked.profile;
  return verifyThenApply(asked, (bootTime) => {
    const { plan, changes, report } = planAccessFixDetailed(
      access.path,
      {
        user: profile.user,
        group: profile.group,
        readonly: profile.readonly,
        shareable: profile.shareable,
        allowRoots: profile.allowRoots,
        ...(profile.openedFolders ? { openedFolders: profile.openedFolders } : {}),
        ...(profile.imageLabel ? { imageLabel: profile.imageLabel } : {}),
        ...(access.groups ? { groups: access.groups } : {}),
      },
      { ...opts, id: asked.id, bootTime, vmProfile: profile },
    );
    // The rule once more, on exactly the bytes about to be written.
    const problems: Refusal[] = [];
    for (const c of changes) {
      if (c.kind !== 'folder-acl') continue;
      const p = folderChangeProblems(c.path, c.from, c.to, report.subject.uid);
      if (p.length) problems.push({ path: c.path, message: p.join('; ') });
    }
    return {
      plan,
      changes,
      kind: 'access-fix',
      differences: folderDifferences(access.folders, plan.access?.folders ?? []),
      problems,
      allowedFolders: changes.filter((c) => c.kind === 'folder-acl').map((c) => c.path),
    };
  });
}
