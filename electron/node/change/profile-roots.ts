// Where a relabel, restore or access fix may change files: the consent rules (consent.ts)
// applied to a VM profile. The profile's allowRoots are folders the user named, its
// openedFolders folders that came with what the user opened; the tops are as the user gave them.
import type { VmProfile } from '../../../shared/plan.js';
import { allowedRoots as rootsFor, type AllowedRoots } from './consent.js';

export function profileRoots(
  profile: Pick<VmProfile, 'allowRoots' | 'openedFolders' | 'disks'>,
  givenTops: readonly string[],
): AllowedRoots {
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : []);
  // A domain's disks come from its XML, which anyone may have written: their folders count only
  // when they are allowed for another reason.
  const tops = profile.disks?.length ? [] : givenTops;
  return rootsFor({ named: strings(profile.allowRoots), opened: strings(profile.openedFolders), tops });
}
