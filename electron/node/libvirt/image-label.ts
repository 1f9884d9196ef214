// The profile a plan is made with, settled once: drivers in libvirt's order and an image label
// with libvirt's random MCS categories (chosen once, so the preview and the apply agree).
import { randomInt } from 'node:crypto';
import { DEFAULT_IMAGE_LABEL_BASE, type Driver, type VmProfile } from '../../../shared/plan.js';

/** libvirt's virSecuritySELinuxMCSFind over c0.c1023: two distinct random categories, lower first. */
export function randomImageLabel(base = DEFAULT_IMAGE_LABEL_BASE): string {
  for (;;) {
    const a = randomInt(1024);
    const b = randomInt(1024);
    if (a === b) continue;
    return `${base}:c${Math.min(a, b)},c${Math.max(a, b)}`;
  }
}

/** The same profile with its drivers in a fixed order and an image label chosen once. */
export function settleProfile(p: VmProfile): VmProfile {
  const drivers = (['dac', 'selinux'] as Driver[]).filter((d) => p.drivers.includes(d));
  return {
    ...p,
    drivers,
    imageLabel: p.imageLabel ?? (drivers.includes('selinux') ? randomImageLabel() : undefined),
    allowRoots: [...(p.allowRoots ?? [])],
    allowHardLinks: !!p.allowHardLinks,
    openedFolders: [...(p.openedFolders ?? [])],
  };
}
