// The checks a VM profile must pass before anything is planned with it.
import type { VmProfile } from '../../../shared/plan.js';
import { isContext, isIdName } from '../../../shared/rules.js';
import { parseGroup, parseOwnership, parseUser } from '../libvirt/owner.js';

export { isContext };

/** Problems with a profile (empty when it is usable). */
export function profileProblems(p: VmProfile, action: 'relabel' | 'restore' = 'relabel'): string[] {
  const out: string[] = [];
  if (typeof p !== 'object' || p === null) return ['no profile'];
  if (!Array.isArray(p.drivers) || p.drivers.length === 0) out.push('no security driver chosen (dac, selinux or both)');
  for (const d of p.drivers ?? []) if (d !== 'dac' && d !== 'selinux') out.push(`unknown driver '${String(d)}'`);
  if (action === 'relabel' && p.drivers?.includes('dac')) {
    if (!isIdName(p.user)) out.push(`invalid user '${p.user}'`);
    else {
      try {
        parseUser(p.user);
      } catch (e) {
        out.push((e as Error).message);
      }
    }
    if (!isIdName(p.group)) out.push(`invalid group '${p.group}'`);
    else {
      try {
        parseGroup(p.group);
      } catch (e) {
        out.push((e as Error).message);
      }
    }
  }
  if (p.imageLabel !== undefined && !isContext(p.imageLabel)) out.push(`invalid SELinux label '${p.imageLabel}'`);
  if (p.rememberOwner !== undefined && typeof p.rememberOwner !== 'boolean') out.push('rememberOwner must be true or false');
  if (p.disks !== undefined && !Array.isArray(p.disks)) out.push('disks must be a list');
  for (const d of Array.isArray(p.disks) ? p.disks : []) {
    const name = d?.target ?? d?.path;
    if (typeof d?.path !== 'string' || !d.path) {
      out.push('a disk of the profile has no path');
      continue;
    }
    const labels = [...(d.seclabels ?? []), ...Object.values(d.layerSeclabels ?? {}).flat()];
    for (const s of labels) {
      if (s.model !== 'dac' && s.model !== 'selinux') out.push(`disk ${name}: unknown seclabel model '${String(s.model)}'`);
      else if (s.label !== undefined && !s.relabel) out.push(`disk ${name}: a ${s.model} label with relabel='no'`);
      else if (s.label !== undefined && s.model === 'selinux' && !isContext(s.label))
        out.push(`disk ${name}: invalid SELinux label '${s.label}'`);
      else if (s.label !== undefined && s.model === 'dac' && action === 'relabel') {
        try {
          parseOwnership(s.label);
        } catch (e) {
          out.push(`disk ${name}: ${(e as Error).message}`);
        }
      }
    }
  }
  return out;
}
