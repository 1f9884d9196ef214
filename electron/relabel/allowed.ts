// Where changes may happen: /var/lib/libvirt/images, the folders the user opened (the top
// image's own folder among them) and each --allow-root. Everything is compared as real paths.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LIBVIRT_IMAGES_DIR, type Refusal, type VmProfile } from '../../shared/plan.js';

/** Never an allowed folder, nor anything inside them. */
const FORBIDDEN_TREES = [
  '/proc', '/sys', '/dev', '/etc', '/boot', '/run', '/var/run', '/usr', '/bin', '/sbin',
  '/lib', '/lib32', '/lib64', '/libx32', '/var/lib/dpkg', '/var/lib/rpm', '/var/spool',
];
/** Never an allowed folder themselves (too wide), though folders inside them may be. */
const FORBIDDEN_EXACT = new Set(['/', '/var', '/var/lib', '/opt', '/home', '/root', '/srv', '/mnt', '/media', '/tmp', '/var/tmp']);

export function isInside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith('/') ? root : root + '/');
}

function forbidden(real: string): boolean {
  return FORBIDDEN_EXACT.has(real) || FORBIDDEN_TREES.some((t) => isInside(real, t));
}

export interface AllowedRoots {
  roots: string[];
  /** Explicitly requested folders that cannot be used. */
  refusals: Refusal[];
}

function realDir(p: string): string | null {
  try {
    const r = fs.realpathSync.native(p);
    return fs.statSync(r).isDirectory() ? r : null;
  } catch {
    return null;
  }
}

/** The allowed folders for a plan whose top images are `topReals`. */
export function allowedRoots(profile: VmProfile, topReals: string[]): AllowedRoots {
  const roots = new Set<string>();
  const refusals: Refusal[] = [];
  // Folders that come with what the user opened (a scanned /tmp, a domain's cdrom under /usr/share)
  // count where they can and are passed over where they cannot: one of them must not refuse every
  // plan. Only folders asked for by name (--allow-root) refuse a plan when they cannot be used.
  const implicit = [LIBVIRT_IMAGES_DIR, ...topReals.map((t) => path.dirname(t)), ...(profile.openedFolders ?? []).filter((p) => typeof p === 'string' && path.isAbsolute(p))];
  for (const p of implicit) {
    const r = realDir(p);
    if (r && !forbidden(r)) roots.add(r);
  }
  for (const p of profile.allowRoots ?? []) {
    if (typeof p !== 'string' || !path.isAbsolute(p)) {
      refusals.push({ path: String(p), message: 'an allowed folder must be an absolute path' });
      continue;
    }
    const r = realDir(p);
    if (!r) {
      refusals.push({ path: p, message: 'allowed folder does not exist or is not a folder' });
    } else if (forbidden(r)) {
      refusals.push({ path: p, message: `${r} cannot be an allowed folder (too wide or a system folder)` });
    } else {
      roots.add(r);
    }
  }
  return { roots: [...roots].sort(), refusals };
}

export function insideAny(real: string, roots: readonly string[]): boolean {
  return roots.some((r) => isInside(real, r));
}
