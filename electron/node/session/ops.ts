// The slow, synchronous file work behind the IPC handlers: reading headers, walking chains,
// scanning folders, planning a relabel. Runs in the inspection worker, never on the loop that
// answers the window (see worker.ts). Each op takes and returns plain JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chainNodes } from '../../../shared/model.js';
import type { OpenError, ProfileInput } from '../../../shared/ipc.js';
import type { Action, Plan, VmProfile } from '../../../shared/plan.js';
import { inspect } from '../core/chain.js';
import { qemuInfoChain } from '../core/qemu-info.js';
import { planChange } from '../relabel/index.js';
import type { DiskWithQemu, OpenedPath } from './worker-contract.js';
import { errorText } from '../../../shared/error-text.js';

/** Names that look like disk images when a folder is opened (data files are found through their image). */
const IMAGE_EXTENSIONS = new Set([
  '.qcow2',
  '.qcow',
  '.qed',
  '.img',
  '.raw',
  '.vmdk',
  '.vdi',
  '.vhd',
  '.vhdx',
  '.vpc',
  '.iso',
  '.luks',
  '.disk',
  '.dsk',
]);
/** A folder with more candidate images than this is opened partly, and says so. */
export const MAX_FOLDER_IMAGES = 256;

function describeErrno(e: unknown, p: string): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return `${p} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${p} cannot be read: permission denied`;
    case 'ENOTDIR':
      return `${p} does not exist (a part of it is not a folder)`;
    case 'ELOOP':
      return `${p} has too many levels of symbolic links`;
    case 'ENAMETOOLONG':
      return `${p} is too long a name`;
    default:
      return `${p} cannot be opened: ${errorText(e)}`;
  }
}

function diskOf(given: string, openedAs: string): DiskWithQemu {
  const root = inspect(given);
  let qemu: DiskWithQemu['qemu'];
  try {
    qemu = qemuInfoChain(given);
  } catch (e) {
    qemu = { entries: [], error: errorText(e) };
  }
  return { top: root.path, openedAs, root, qemu };
}

/** Open one image or folder (an absolute path); with `foldersOnly`, a folder is only named back. */
export function openPath(p: string, foldersOnly = false): OpenedPath {
  const errors: OpenError[] = [];
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    return { disks: [], errors: [{ path: p, message: describeErrno(e, p) }], folder: null };
  }
  if (st.isDirectory() && foldersOnly)
    return { disks: [], errors, folder: fs.realpathSync.native(p), folders: [fs.realpathSync.native(p)] };
  if (st.isDirectory()) return { ...openFolder(p), folder: fs.realpathSync.native(p) };
  if (!st.isFile()) {
    const what = st.isBlockDevice()
      ? 'a block device'
      : st.isCharacterDevice()
        ? 'a character device'
        : st.isFIFO()
          ? 'a FIFO'
          : 'not a regular file';
    return { disks: [], errors: [{ path: p, message: `${p} is ${what}; only image files and folders open` }], folder: null };
  }
  return { disks: [diskOf(p, p)], errors, folder: null };
}

/** Every image in a folder that no other image there uses: those are the disks. */
export function openFolder(dir: string): { disks: DiskWithQemu[]; errors: OpenError[] } {
  const errors: OpenError[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    return { disks: [], errors: [{ path: dir, message: describeErrno(e, dir) }] };
  }
  const candidates = names.filter((n) => IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase()));
  if (candidates.length > MAX_FOLDER_IMAGES) {
    errors.push({ path: dir, message: `${dir} holds ${candidates.length} images; only the first ${MAX_FOLDER_IMAGES} were read` });
    candidates.length = MAX_FOLDER_IMAGES;
  }
  const disks: DiskWithQemu[] = [];
  for (const name of candidates) {
    const full = path.join(dir, name);
    try {
      // A link is not followed: its target may lie anywhere, and opening this folder allows
      // changes in this folder only (electron/node/change/consent.ts).
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) {
        errors.push({ path: full, message: `${full} is a symbolic link; open the folder it points into to see it` });
        continue;
      }
      if (!st.isFile()) continue;
    } catch {
      continue;
    }
    disks.push(diskOf(full, dir));
  }
  // An image another one uses as backing or data file is part of that disk, not a disk itself.
  const used = new Set<string>();
  for (const d of disks) {
    for (const n of chainNodes(d.root)) if (n !== d.root) used.add(n.path);
  }
  const tops = disks.filter((d) => !used.has(d.top));
  if (disks.length === 0) errors.push({ path: dir, message: `${dir} holds no disk images` });
  return { disks: tops, errors };
}

/** Preview a change; the files may change only inside the folders the user opened (and the top's own). */
/** `profile` comes from the relabel form, or from a domain this process resolved itself. */
export function plan(action: Action, top: string, profile: ProfileInput | VmProfile, openedFolders: string[]): Plan {
  return planChange(action, top, { ...profile, allowRoots: [], openedFolders });
}
