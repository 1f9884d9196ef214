// check-access: for each file of a chain, what stops the VM's process (its uid, gid and groups,
// no capabilities: libvirt clears them, even for a root qemu) from opening it as qemu does.
// Read-only: lstat, readlink, lgetxattr. The kernel's rules are in acl.ts and walk.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  permText,
  type AccessProfile,
  type AccessReport,
  type AccessSubject,
  type Blocker,
  type FileAccess,
  type PermCheck,
  type SelinuxFinding,
} from '../../../shared/access.js';
import type { ChainNode } from '../../../shared/model.js';
import { CONTENT_LABEL, DEFAULT_IMAGE_LABEL_BASE } from '../../../shared/plan.js';
import { inspect } from '../core/chain.js';
import { groupName, lgetxattr, selinuxEnabled, userName } from '../native/libc.js';
import { diskFiles } from '../core/disk-files.js';
import { ACL_XATTR, AclError, aclText, checkAccess as kernelCheck, parseAcl, type Acl } from '../change/acl.js';
import { appArmorFor, appArmorPresent, loadAppArmor, type AppArmorState } from './apparmor.js';
import { resolveSubject } from './subject.js';
import { walkPath } from './walk.js';

export const R = 4;
export const W = 2;
export const X = 1;

export interface CheckOptions {
  /** Inspect with this instead of the chain resolver (tests). */
  resolve?: (topPath: string) => ChainNode;
  /** Where libvirt's AppArmor .files live, and AppArmor's securityfs folder (tests point these elsewhere). */
  apparmorDir?: string;
  apparmorSysfs?: string;
  /** Whether SELinux is on (default: ask libselinux). */
  selinuxEnabled?: boolean;
  /** Apply fs.protected_symlinks (default: as this host does). */
  protectedSymlinks?: boolean;
}

/** The SELinux type libvirt gives a file: the writable top and its data file svirt_image_t, else virt_content_t. */
export function expectedSelinuxType(top: boolean, profile: Pick<AccessProfile, 'readonly' | 'shareable'>): string {
  const label = top && (profile.shareable || !profile.readonly) ? DEFAULT_IMAGE_LABEL_BASE : CONTENT_LABEL;
  return label.split(':')[2]!;
}

function nameOf(id: number, name: string | null): string {
  return name ?? String(id);
}

export function subjectText(s: AccessSubject): string {
  const extra = s.groups.filter((g) => g !== s.gid);
  return `user ${s.uid}${s.userName ? ` (${s.userName})` : ''} (group ${s.gid}${s.groupName ? ` ${s.groupName}` : ''}${extra.length ? `, groups ${extra.join(',')}` : ''})`;
}

/** Stat and ACL of a path (lstat, lgetxattr): the inputs of the kernel's check. */
export function readInode(p: string, st?: fs.Stats): { st: fs.Stats; acl: Acl | null; aclError: string | null } {
  const s = st ?? fs.lstatSync(p);
  let acl: Acl | null = null;
  let aclError: string | null = null;
  let raw: Buffer | null = null;
  try {
    raw = lgetxattr(p, ACL_XATTR);
  } catch (e) {
    aclError = `its ACL cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  if (raw) {
    try {
      acl = parseAcl(raw);
    } catch (e) {
      if (!(e instanceof AclError)) throw e;
      aclError = `${p}: ${e.message}`;
    }
  }
  return { st: s, acl, aclError };
}

/** One kernel permission check on `p` for the subject. */
export function permCheck(
  p: string,
  kind: PermCheck['kind'],
  st: fs.Stats,
  acl: Acl | null,
  subject: AccessSubject,
  needed: number,
): PermCheck {
  const d = kernelCheck({ uid: st.uid, gid: st.gid, mode: st.mode, acl }, { uid: subject.uid, groups: subject.groups }, needed);
  return {
    path: p,
    kind,
    uid: st.uid,
    gid: st.gid,
    user: userName(st.uid),
    group: groupName(st.gid),
    mode: st.mode,
    acl: acl ? aclText(acl) : null,
    needed,
    granted: d.granted,
    rule: d.rule,
    entry: d.entry,
    ...(d.aclIgnored ? { aclIgnored: true } : {}),
    ok: d.ok,
  };
}

/** "/srv/vms is mode 0700 root:root: user 107 (group 107) has no search permission (x)". */
export function describeCheck(c: PermCheck, subject: AccessSubject): string {
  const owner = `${nameOf(c.uid, c.user)}:${nameOf(c.gid, c.group)}`;
  const missing = c.needed & ~c.granted;
  const what =
    c.kind === 'folder'
      ? 'no search permission (x)'
      : `no ${[missing & R ? 'read' : '', missing & W ? 'write' : ''].filter(Boolean).join(' or ')} permission (${permText(c.needed)} needed, ${permText(c.granted)} granted)`;
  const rule =
    c.rule === 'owner'
      ? 'as its owner'
      : c.rule === 'named-user'
        ? `by ACL entry ${c.entry}`
        : c.rule === 'owning-group' || c.rule === 'named-group'
          ? `through its groups: ${c.entry}`
          : c.rule === 'group'
            ? `as a member of its group: ${c.entry}`
            : `as other: ${c.entry}`;
  const acl = c.acl ? ` with ACL ${c.acl}` : '';
  return `${c.path} is mode ${(c.mode & 0o7777).toString(8).padStart(4, '0')} ${owner}${acl}: ${subjectText(subject)} has ${what} ${rule}`;
}

function selinuxFinding(file: string, top: boolean, profile: AccessProfile): SelinuxFinding | null {
  let raw: Buffer | null;
  try {
    raw = lgetxattr(file, 'security.selinux');
  } catch {
    raw = null;
  }
  const expectedType = expectedSelinuxType(top, profile);
  if (!raw) return null;
  const end = raw.indexOf(0);
  const label = raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
  const type = label.split(':')[2] ?? null;
  const ok = type === expectedType;
  return {
    label,
    type,
    expectedType,
    ok,
    message: ok
      ? `SELinux type ${type} is what libvirt sets`
      : `${file} has SELinux type ${type ?? '(none)'} (${label}); libvirt gives ${top ? 'the top and its data file' : 'backing files and their data files'} ${expectedType}`,
  };
}

/** What stops the VM's process from opening each file of the chain at `topPath`. */
export function checkAccess(topPath: string, profile: AccessProfile, opts: CheckOptions = {}): AccessReport {
  const subject = resolveSubject(profile.user, profile.group, profile.groups);
  const given = path.resolve(topPath);
  const root = (opts.resolve ?? ((p: string) => inspect(p)))(given);
  const seOn = opts.selinuxEnabled ?? selinuxEnabled();
  const aa: AppArmorState = loadAppArmor(opts.apparmorDir, opts.apparmorSysfs);
  const aaPresent = appArmorPresent(aa);
  const folderChecks = new Map<string, PermCheck>();
  const folderErrors = new Map<string, string>();
  const files: FileAccess[] = [];
  const notes: string[] = [];

  for (const { node, top } of diskFiles(root)) {
    const needed = top && !profile.readonly ? R | W : R;
    const walked = node === root ? given : (node.nameInfo?.joined ?? node.path);
    const fa: FileAccess = {
      path: node.path,
      walked,
      role: node.role,
      top,
      needed,
      folders: [],
      symlinks: [],
      check: null,
      selinux: null,
      apparmor: null,
      blockers: [],
      ok: true,
    };
    files.push(fa);
    const block = (b: Omit<Blocker, 'file' | 'blocking'> & { blocking?: boolean }) =>
      fa.blockers.push({ blocking: true, file: node.path, ...b });
    if (node.nameInfo && node.nameInfo.kind !== 'file') {
      notes.push(`${node.name} is a ${node.nameInfo.kind} name: qemu connects to it, no file to check`);
      continue;
    }
    const w = walkPath(walked, subject.uid, opts.protectedSymlinks);
    fa.folders = w.folders;
    fa.symlinks = w.symlinks;
    for (const dir of w.folders) {
      let c = folderChecks.get(dir);
      if (!c && !folderErrors.has(dir)) {
        try {
          const ino = readInode(dir);
          if (ino.aclError) folderErrors.set(dir, ino.aclError);
          else {
            c = permCheck(dir, 'folder', ino.st, ino.acl, subject, X);
            folderChecks.set(dir, c);
          }
        } catch (e) {
          folderErrors.set(dir, `${dir} cannot be examined (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
      }
      const err = folderErrors.get(dir);
      if (err) block({ kind: 'unreadable', path: dir, message: err });
      else if (c && !c.ok) block({ kind: 'search', path: dir, message: describeCheck(c, subject), check: c });
    }
    if (w.error) {
      block({ kind: w.error.kind, path: w.error.path, message: w.error.message });
    } else if (w.final && w.stat) {
      if (!w.stat.isFile()) {
        block({ kind: 'not-regular', path: w.final, message: `${w.final} is not a regular file` });
      } else {
        if (node.stat && (node.stat.dev !== w.stat.dev || node.stat.ino !== w.stat.ino)) {
          notes.push(`${walked} leads to ${w.final}, not to ${node.path} as inspected: it changed meanwhile`);
        }
        const ino = readInode(w.final, w.stat);
        if (ino.aclError) block({ kind: 'unreadable', path: w.final, message: ino.aclError });
        else {
          fa.check = permCheck(w.final, 'file', ino.st, ino.acl, subject, needed);
          if (!fa.check.ok) block({ kind: 'access', path: w.final, message: describeCheck(fa.check, subject), check: fa.check });
        }
        fa.selinux = selinuxFinding(w.final, top, profile);
        if (fa.selinux && !fa.selinux.ok) {
          block({
            kind: 'selinux',
            path: w.final,
            message: fa.selinux.message + (seOn ? '' : ' (SELinux is disabled here: no effect now)'),
            blocking: seOn,
          });
        }
        if (aaPresent) {
          fa.apparmor = appArmorFor(aa, w.final, needed);
          if (!fa.apparmor.ok) block({ kind: 'apparmor', path: w.final, message: fa.apparmor.message, blocking: aa.enabled });
        }
      }
    }
    fa.ok = !fa.blockers.some((b) => b.blocking);
  }

  // Folders first (one line per folder, even when several files go through it), then files.
  const blockers: Blocker[] = [];
  const seenFolder = new Set<string>();
  for (const f of files) {
    for (const b of f.blockers) {
      if (b.kind !== 'search' && b.kind !== 'unreadable') continue;
      if (seenFolder.has(b.path)) continue;
      seenFolder.add(b.path);
      blockers.push(b);
    }
  }
  for (const f of files)
    for (const b of f.blockers) if (b.kind !== 'search' && !(b.kind === 'unreadable' && seenFolder.has(b.path))) blockers.push(b);
  for (const p of root.problems) notes.push(`${root.path}: ${p.message}`);
  if (aa.problems.length) notes.push(...aa.problems.map((p) => `AppArmor: ${p}`));
  return {
    path: given,
    top: root.path,
    subject,
    readonly: !!profile.readonly,
    ok: !blockers.some((b) => b.blocking),
    files,
    folders: [...folderChecks.values()],
    blockers,
    selinux: {
      enabled: seOn,
      message: seOn
        ? 'SELinux is enabled: a file whose type libvirt would not set is denied to qemu'
        : 'SELinux is disabled on this host: labels are reported, they block nothing here',
    },
    apparmor: {
      present: aaPresent,
      profiles: aa.profiles.map((p) => p.name),
      message: aaPresent
        ? `AppArmor ${aa.enabled ? 'is enabled' : 'is not loaded'}; ${aa.profiles.length} libvirt profile(s) read from ${opts.apparmorDir ?? '/etc/apparmor.d/libvirt'}`
        : 'AppArmor: no libvirt profiles here (no AppArmor in the kernel, no libvirt-*.files)',
    },
    notes,
  };
}
