// Relabel / Restore planning with libvirt's rules: what the preview shows and the helper makes
// again before it changes anything (changes themselves go through helper/api.ts).
export { planChange, planChanges, planChangesDetailed } from './plan.js';
export { defaultOwner } from '../libvirt/owner.js';
export { randomImageLabel } from '../libvirt/image-label.js';
export { profileProblems } from './profile.js';
