// Who may have what changed, decided by the side that changes it. A file may change only when
// its real path lies under an allowed root, it was reached from that root's descriptor without
// following a link, it lies on the root's mount, it is a regular file, and it has no execute,
// setuid or setgid bit (disk images have none). Roots are libvirt's image folders, folders the
// caller allowed (owned by the caller when the caller came through pkexec), and the folder of a
// top image named by a path without links; never a link's target, a domain XML's source, or a
// folder a header name leads to.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Refusal } from '../../../shared/plan.js';
import { LIBVIRT_IMAGES_DIR } from '../../../shared/plan.js';
import { closeRoot, holdAbsolute, holdInRoot, openHeld, openRoot, WalkError, type Root } from '../native/walk.js';
import { libvirtPoolTargets } from '../libvirt/pools.js';

/** Trees nothing inside of may change: the system's own files, and kernel and runtime views. */
const FORBIDDEN_TREES = [
  '/etc',
  '/root',
  '/boot',
  '/usr',
  '/bin',
  '/sbin',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/var/run',
  '/var/lib/dpkg',
  '/var/lib/rpm',
  '/var/spool',
];
/** /lib, /lib32, /lib64, /libx32 and any other /lib* a distribution adds. */
const LIB_TREE = /^\/lib[^/]*(\/|$)/;
/** Folders too wide to be a root or to be opened up themselves, though folders inside them may be. */
const TOO_WIDE = new Set(['/', '/home', '/var', '/var/lib', '/opt', '/srv', '/mnt', '/media', '/tmp', '/var/tmp']);

export function isInside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith('/') ? root : root + '/');
}

export function insideAny(real: string, roots: readonly string[]): boolean {
  return roots.some((r) => isInside(real, r));
}

/**
 * Whether a folder (a real path) lies on the way to an allowed folder or inside one. A header
 * can name a file through `..` or a symlink, so the walk may search folders that are neither: a
 * backing name `/home/alice/../srv/vms/base.qcow2` must not earn /home/alice an ACL entry.
 */
export function onTheWay(real: string, roots: readonly string[]): boolean {
  return roots.some((r) => r === real || r.startsWith(real === '/' ? '/' : real + '/') || real.startsWith(r + '/'));
}

/** Why a real path may never change (nor be a root), or null. */
export function forbiddenWhy(real: string): string | null {
  if (TOO_WIDE.has(real)) return `${real} is too wide a folder`;
  const tree = FORBIDDEN_TREES.find((t) => isInside(real, t)) ?? (LIB_TREE.test(real) ? '/lib*' : null);
  return tree ? `${real} lies in ${tree}, a system folder` : null;
}

/**
 * The variables naming the user a root process acts for, as the program that started it set them.
 * sudo's count only in the helper, started by sudo as the installed launcher (`trustSudoCaller`):
 * the scoped rule of `install-helper --sudoers` is that way in. Anywhere else SUDO_UID names an
 * administrator who ran `sudo diskchain` (or a test run), who is root. sudo's come first: sudo sets
 * them itself and resets the rest, while pkexec clears the environment, so SUDO_* cannot reach a
 * helper pkexec started, nor a caller's own PKEXEC_UID one that sudo started.
 */
function callerVars(): string[] {
  return sudoLauncher !== null && process.env.SUDO_COMMAND === sudoLauncher ? ['SUDO_UID', 'PKEXEC_UID'] : ['PKEXEC_UID'];
}
let sudoLauncher: string | null = null;

/** In the helper: a caller sudo vouches for (SUDO_UID, when sudo ran `launcher`) is held to the same rules as pkexec's. */
export function trustSudoCaller(launcher: string): void {
  sudoLauncher = launcher;
  caller = null;
}

/** The uid the change is made for: the caller pkexec (or, in the helper, sudo) vouches for, else this process. */
export function callerUid(): number {
  // Asked once per file: the environment is read once (pkexec and sudo set it before the process starts).
  if (caller === null) {
    const self = process.getuid?.() ?? -1;
    const vouched = callerVars()
      .map((v) => process.env[v])
      .find((v) => v !== undefined);
    caller = self === 0 && vouched !== undefined && /^\d{1,10}$/.test(vouched) ? Number(vouched) : self;
  }
  return caller;
}
let caller: number | null = null;

/** Whether a caller came through pkexec or sudo (an unprivileged user asking root). */
export function throughPkexec(): boolean {
  return callerUid() !== (process.getuid?.() ?? -1);
}

interface HomeEntry {
  uid: number;
  dir: string;
}
let homes: HomeEntry[] | null = null;

/** Users' home folders from /etc/passwd, plus every /home/NAME (NSS-only users live there too). */
function homeFolders(): HomeEntry[] {
  if (homes) return homes;
  const out: HomeEntry[] = [];
  try {
    const text = fs.readFileSync('/etc/passwd', 'utf8').slice(0, 4 << 20);
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length < 7) continue;
      const uid = Number(f[2]);
      const dir = path.normalize(f[5]!);
      if (!Number.isInteger(uid) || uid === 0 || uid === 65534 || !path.isAbsolute(dir) || forbiddenWhy(dir)) continue;
      if (uid >= 1000 || dir.startsWith('/home/')) out.push({ uid, dir });
    }
  } catch {
    /* no passwd: /home below still counts */
  }
  return (homes = out);
}

/** The uid whose home folder `real` lies in, -1 for a /home folder nobody in passwd owns, null outside homes. */
function homeOwnerOf(real: string): number | null {
  const hit = homeFolders()
    .filter((h) => isInside(real, h.dir))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
  if (hit) return hit.uid;
  if (/^\/home\/[^/]+/.test(real)) {
    try {
      return fs.lstatSync(real.split('/').slice(0, 3).join('/')).uid;
    } catch {
      return -1;
    }
  }
  return null;
}

/** Where a root came from: libvirt's configuration, named by the caller, or come with what was opened. */
export type RootOrigin = 'libvirt' | 'named' | 'implicit';

/**
 * Why `real` cannot be a root for this caller, or null. A named root as root may lie in a home;
 * anything the caller brings through pkexec must be the caller's own and not writable by others.
 */
export function rootProblem(real: string, origin: RootOrigin, caller = callerUid()): string | null {
  const why = forbiddenWhy(real);
  if (why) return `${why}: never an allowed folder`;
  if (origin === 'libvirt') return null;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(real);
  } catch {
    return `${real} does not exist`;
  }
  if (!st.isDirectory()) return `${real} is not a folder`;
  if (caller !== 0) {
    if (st.uid !== caller)
      return `${real} is not owned by the calling user (uid ${caller}); only libvirt's folders and the caller's own can be allowed`;
    if (st.mode & 0o022) return `${real} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'}; an allowed folder must not be`;
    return null;
  }
  const home = homeOwnerOf(real);
  if (home !== null && home !== caller && origin !== 'named') {
    return `${real} lies in another user's home folder; name it with --allow-root to allow it`;
  }
  return null;
}

/** A folder's real path when it is one, else null. */
function realDir(p: string): string | null {
  try {
    const r = fs.realpathSync.native(p);
    return fs.statSync(r).isDirectory() ? r : null;
  } catch {
    return null;
  }
}

export interface AllowedRoots {
  roots: string[];
  /** Explicitly requested folders that cannot be used. */
  refusals: Refusal[];
  /** What the user should know about how the roots were chosen (a top given as a link). */
  notes: string[];
}

export interface RootRequest {
  /** Folders named by the caller (--allow-root). */
  named?: readonly string[];
  /** Folders that come with what was opened (the app's folders): used where they can be, passed over where not. */
  opened?: readonly string[];
  /** Top images as the caller gave them: the folder of one given without a link in its path counts as opened. */
  tops?: readonly string[];
  /** libvirt's image folders: on by default. */
  libvirt?: boolean;
}

/** The allowed roots for one request, as real paths, decided here from what this process can verify. */
export function allowedRoots(req: RootRequest): AllowedRoots {
  const roots = new Set<string>();
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const caller = callerUid();
  const use = (given: string, origin: RootOrigin): string | null => {
    if (!path.isAbsolute(given)) return 'an allowed folder must be an absolute path';
    const real = realDir(given);
    if (!real) return `${given} does not exist or is not a folder`;
    const why = rootProblem(real, origin, caller);
    if (why) return why;
    roots.add(real);
    return null;
  };
  if (req.libvirt !== false) for (const p of libvirtRoots()) use(p, 'libvirt');
  for (const p of req.opened ?? []) use(p, 'implicit');
  // Only a path with no link anywhere in it names its folder: a link (the top's own, or a
  // folder's on the way) may point elsewhere by the time anything is changed. Thousands of tops
  // share a few folders: each folder is resolved once.
  const dirs = new Map<string, string | null>();
  for (const t of req.tops ?? []) {
    const abs = path.resolve(t);
    const dir = path.dirname(abs);
    if (!dirs.has(dir)) dirs.set(dir, realDir(dir));
    let link = false;
    try {
      link = fs.lstatSync(abs).isSymbolicLink();
    } catch {
      /* a top that is not there is refused later, where it is read; its folder still must be link-free */
    }
    if (link || dirs.get(dir) !== dir) {
      let real = '(nothing)';
      try {
        real = fs.realpathSync.native(abs);
      } catch {
        /* dangling */
      }
      notes.push(
        `${abs} is reached through a symbolic link and stands for ${real}: its folder does not count as allowed; name the folder with --allow-root or open it`,
      );
      continue;
    }
    if (!roots.has(dir)) use(dir, 'implicit');
  }
  for (const p of req.named ?? []) {
    const why = use(p, 'named');
    if (why) refusals.push({ path: p, message: why });
  }
  return { roots: [...roots].sort(), refusals, notes };
}

/** A refusal to change one file, in words for the user. */
export class ConsentError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** libvirt's own image folders: /var/lib/libvirt/images and its folder pools' targets. */
export function libvirtRoots(): string[] {
  return [LIBVIRT_IMAGES_DIR, ...libvirtPoolTargets()];
}

interface OpenRoot extends Root {
  /** The caller owns the root (a pkexec caller's own folder), rather than it being libvirt's or root's. */
  callerOwned: boolean;
}

/** Roots opened once per run and reused for every file under them. */
export class RootSet {
  private readonly open = new Map<string, OpenRoot>();
  private readonly libvirt: Set<string>;
  constructor(readonly roots: readonly string[]) {
    this.libvirt = new Set(libvirtRoots());
  }

  private rootFor(real: string): OpenRoot {
    const r = this.roots.filter((x) => isInside(real, x)).sort((a, b) => b.length - a.length)[0];
    if (!r) throw new ConsentError(real, `is outside the allowed folders (${this.roots.join(', ') || 'none'})`, 'EOUTSIDE');
    let root = this.open.get(r);
    if (!root) {
      let opened: Root;
      try {
        opened = openRoot(r);
      } catch (e) {
        throw new ConsentError(real, `its allowed folder cannot be used: ${(e as Error).message}`, (e as WalkError).code);
      }
      // The rules again, on the folder actually opened: it may have been swapped since it was chosen.
      const st = fs.fstatSync(opened.fd);
      const caller = callerUid();
      const why =
        forbiddenWhy(r) ??
        (throughPkexec() && !this.libvirt.has(r) && (st.uid !== caller || st.mode & 0o022)
          ? `${r} is not the calling user's own folder (or is writable by others)`
          : null);
      if (why) {
        closeRoot(opened);
        throw new ConsentError(real, `its allowed folder cannot be used: ${why}`, 'EOUTSIDE');
      }
      root = { ...opened, callerOwned: throughPkexec() && st.uid === caller };
      this.open.set(r, root);
    }
    return root;
  }

  /** Whether the root `real` lies under is the pkexec caller's own folder. */
  callerOwns(real: string): boolean {
    return this.rootFor(real).callerOwned;
  }

  /**
   * Open a file to read or change its labels: reached from its root without links or mounts,
   * a regular file with no execute, setuid or setgid bit. The caller closes the descriptor.
   */
  openFile(real: string): number {
    return this.openFileWithStat(real).fd;
  }

  /** openFile, with what fstat said of it (the held inode's, which the descriptor is). */
  openFileWithStat(real: string): { fd: number; st: fs.Stats } {
    const root = this.rootFor(real);
    let held;
    try {
      held = holdInRoot(root, real);
    } catch (e) {
      throw new ConsentError(real, (e as Error).message.replace(`${real} `, ''), (e as WalkError).code);
    }
    if (!held.st.isFile()) {
      fs.closeSync(held.fd);
      throw new ConsentError(real, 'is not a regular file', 'ETYPE');
    }
    if (held.st.mode & 0o6111) {
      fs.closeSync(held.fd);
      throw new ConsentError(real, 'has an execute, setuid or setgid bit: not a disk image, never changed', 'EEXEC');
    }
    return { st: held.st, fd: openHeld(held, real) };
  }

  close(): void {
    for (const r of this.open.values()) closeRoot(r);
    this.open.clear();
  }
}

/** Open a folder by its absolute real path with no link on the way (folder ACL changes). */
export function openFolderNoLinks(real: string): number {
  const why = forbiddenWhy(real);
  if (why) throw new ConsentError(real, `${why}: never changed`, 'EFORBIDDEN');
  let held;
  try {
    held = holdAbsolute(real);
  } catch (e) {
    throw new ConsentError(real, (e as Error).message.replace(`${real} `, ''), (e as WalkError).code);
  }
  if (!held.st.isDirectory()) {
    fs.closeSync(held.fd);
    throw new ConsentError(real, 'is not a folder', 'ENOTDIR');
  }
  return openHeld(held, real);
}
