// check-access: the API the CLI and the app server call. checkAccess is read-only and runs
// anywhere; the fix is previewed with planAccessFix (or previewAccessFix, through the helper
// when not root) and applied with the relabel API's applyPlan, which sends it to the helper.
import * as path from 'node:path';
import type { AccessProfile } from '../../../shared/access.js';
import type { Plan } from '../../../shared/plan.js';
import { helper } from '../change/helper-client.js';
import { planAccessFix } from './fix.js';

export { checkAccess, describeCheck, subjectText, type CheckOptions } from './check.js';
export { planAccessFix, planAccessFixDetailed, vmProfileFor } from './fix.js';
export { applyAccessFixInProcess } from './apply.js';
export { resolveSubject } from './subject.js';

/** The fix to preview, exactly as the helper will make it again (made by the helper without root). */
export async function previewAccessFix(topPath: string, profile: AccessProfile, opts: { inProcess?: boolean } = {}): Promise<Plan> {
  if (opts.inProcess || process.getuid?.() === 0) return planAccessFix(topPath, profile);
  return helper().request<Plan>('access-plan', { path: path.resolve(topPath), profile });
}
