// What stops the VM's process from opening each file of a chain (check-access): plain JSON data
// for the CLI and the renderer. Bits are rwx as in a mode's owner triplet: r=4, w=2, x=1.
import type { Role } from './model.js';

/** The process libvirt starts qemu as: uid, gid and supplementary groups. */
export interface AccessSubject {
  /** As given: a name or `+N`. */
  user: string;
  group: string;
  uid: number;
  gid: number;
  /** Every group the process is in, `gid` first. */
  groups: number[];
  /** Where `groups` came from: NSS (getgrouplist, as libvirt does), given explicitly, or only the gid (a `+N` user without a passwd entry). */
  groupsSource: 'nss' | 'given' | 'gid-only';
  userName: string | null;
  groupName: string | null;
}

/**
 * Which rule of the kernel's check decided: the owner's bits, a named-user ACL entry, the owning
 * group or a named group (ACL entries, masked) or the group bits, the other bits.
 */
export type AccessRule = 'owner' | 'named-user' | 'owning-group' | 'named-group' | 'group' | 'other';

/** One permission check, as the kernel makes it when the VM's process opens a path. */
export interface PermCheck {
  path: string;
  kind: 'folder' | 'file';
  uid: number;
  gid: number;
  user: string | null;
  group: string | null;
  /** st_mode with type bits. */
  mode: number;
  /** The access ACL (getfacl short text), null when there is none. */
  acl: string | null;
  /** Bits needed: x for a folder, r or rw for a file. */
  needed: number;
  /** Bits the deciding rule grants (after the mask, for entries the mask applies to). */
  granted: number;
  rule: AccessRule;
  /** The entry or bits that decided, e.g. "user:107:---", "mask::r--", "mode 0700 (other ---)". */
  entry: string;
  /** True when the kernel skipped the ACL because its mask (the mode's group bits) is empty. */
  aclIgnored?: boolean;
  ok: boolean;
}

export type BlockerKind =
  | 'search' // a folder on the way lacks x for the VM
  | 'access' // the file lacks r or w for the VM
  | 'missing' // a component of the path does not exist
  | 'not-folder' // a component that should be a folder is not one
  | 'not-regular' // the file is no regular file
  | 'symlink-loop' // more than 40 symbolic links on the way (ELOOP)
  | 'protected-symlink' // fs.protected_symlinks refuses to follow this link for the VM
  | 'selinux' // the file's SELinux type is not what libvirt would set (blocks when SELinux is on)
  | 'apparmor' // no libvirt AppArmor profile allows the file
  | 'unreadable'; // the check itself could not read something (a clear error instead of a guess)

export interface Blocker {
  kind: BlockerKind;
  /** The folder or file at fault. */
  path: string;
  /** The chain file that cannot be opened because of it. */
  file: string;
  message: string;
  check?: PermCheck;
  /** False for findings that do not stop qemu on this host (SELinux off): shown, exit code unaffected. */
  blocking: boolean;
}

export interface SymlinkStep {
  /** The link as met on the way. */
  path: string;
  /** What it points to (readlink). */
  target: string;
  uid: number;
}

export interface SelinuxFinding {
  /** The file's context, null when it carries none. */
  label: string | null;
  type: string | null;
  /** The type libvirt would set: svirt_image_t or virt_content_t. */
  expectedType: string;
  ok: boolean;
  message: string;
}

export interface AppArmorFinding {
  /** Profiles (libvirt-UUID) whose .files allow the file with the needed access. */
  allowedBy: string[];
  /** Permissions the best matching rule gives ("rwk", "rk"), null when none matches. */
  perms: string | null;
  ok: boolean;
  message: string;
}

export interface FileAccess {
  /** Real path of the chain file. */
  path: string;
  /** The path walked: as qemu is given it (the top as named, others joined to their image's folder). */
  walked: string;
  role: Role;
  /** The top image or the top's data file. */
  top: boolean;
  needed: number;
  /** The folders searched on the way, in order (see AccessReport.folders for each check). */
  folders: string[];
  symlinks: SymlinkStep[];
  check: PermCheck | null;
  selinux: SelinuxFinding | null;
  apparmor: AppArmorFinding | null;
  blockers: Blocker[];
  ok: boolean;
}

export interface AccessReport {
  /** The top as given, and its real path. */
  path: string;
  top: string;
  subject: AccessSubject;
  readonly: boolean;
  /** True when nothing blocks the VM's process from opening every file as it needs. */
  ok: boolean;
  files: FileAccess[];
  /** Every folder searched, once, with its check. */
  folders: PermCheck[];
  /** Every finding, folders first; those with blocking=false do not stop the VM here. */
  blockers: Blocker[];
  selinux: { enabled: boolean; message: string };
  apparmor: { present: boolean; profiles: string[]; message: string };
  notes: string[];
}

/** The options check-access takes (a VmProfile subset, plus explicit groups). */
export interface AccessProfile {
  user: string;
  group: string;
  readonly?: boolean;
  shareable?: boolean;
  /** Supplementary groups to use instead of NSS's (getgrouplist). */
  groups?: number[];
  allowRoots?: string[];
  openedFolders?: string[];
  imageLabel?: string;
}

export function permText(bits: number): string {
  return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
}
