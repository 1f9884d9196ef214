// check-access: checkAccess is read-only and runs anywhere; the fix is planned by fix.ts (given
// libvirt's relabel planner by its caller) and previewed or applied through helper/api.ts.
export { checkAccess, describeCheck, subjectText, type CheckOptions } from './check.js';
export { planAccessFix, planAccessFixDetailed, vmProfileFor } from './fix.js';
export { applyAccessFixInProcess } from './apply.js';
export { resolveSubject } from './subject.js';
