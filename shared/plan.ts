// Relabel / Restore plans: what the preview shows is exactly what the helper applies.
// Plain JSON data only (imported by the renderer).
import type { Role } from './model.js';

export type Driver = 'dac' | 'selinux';
export type Action = 'relabel' | 'restore';

export const DEFAULT_IMAGE_LABEL_BASE = 'system_u:object_r:svirt_image_t:s0';
export const CONTENT_LABEL = 'system_u:object_r:virt_content_t:s0';
/** What libvirt gives the top of a shareable disk (its file_context, no categories). */
export const SHARED_IMAGE_LABEL = 'system_u:object_r:svirt_image_t:s0';
/** Always allowed, on top of the opened folders and each --allow-root. */
export const LIBVIRT_IMAGES_DIR = '/var/lib/libvirt/images';

/** The VM a chain is labelled for (qemu.conf + domain XML, or the relabel form). */
export interface VmProfile {
  drivers: Driver[];
  /** `name` or `+N`, as in qemu.conf and <seclabel model='dac'>. */
  user: string;
  group: string;
  /** The VM's image label; when absent one is made with two random distinct categories. */
  imageLabel?: string;
  readonly: boolean;
  shareable: boolean;
  /** Folders whose files may be changed, on top of /var/lib/libvirt/images and opened folders. */
  allowRoots: string[];
  /** Change files with more than one hard link (refused unless asked). */
  allowHardLinks?: boolean;
  /** Folders the user opened in the app. The top image's own folder always counts as opened. */
  openedFolders?: string[];
  /**
   * qemu.conf's remember_owner (default true). False: libvirt writes no trusted.libvirt.security.*
   * records on start and reads none on stop (owner back to root:root, the policy's default context).
   */
  rememberOwner?: boolean;
  /** What the domain XML says about each disk; a disk not listed here uses the flags above. */
  disks?: DiskProfile[];
}

/** A `<seclabel>` inside a disk's (or a backing layer's) `<source>`. */
export interface DiskSeclabel {
  model: Driver;
  /** relabel='no': this driver leaves the file alone. */
  relabel: boolean;
  /** `user:group` for dac, a context for selinux; used instead of the VM's label. */
  label?: string;
}

/** One disk of the domain, for the plan: flags and seclabels from its `<disk>` element. */
export interface DiskProfile {
  /** The top image (its real path once planned). */
  path: string;
  /** `<target dev>`, for display. */
  target?: string;
  readonly: boolean;
  shareable: boolean;
  /** The disk's own `<source><seclabel>`s: they apply to every file of its chain without one of its own. */
  seclabels: DiskSeclabel[];
  /** `<seclabel>`s inside a `<backingStore>`'s `<source>`, by that layer's path. */
  layerSeclabels?: Record<string, DiskSeclabel[]>;
  /**
   * The domain's `<driver type>` where it decides what is labelled: null when the domain states
   * none, 'raw' when it states raw. libvirt then opens the top as raw without probing, so no
   * backing or data file its header names is used or labelled. Absent: the top's format is probed.
   */
  format?: 'raw' | null;
  /**
   * The domain names the top's data file with an explicit <dataStore>: libvirt then treats it as a
   * source of its own (not the disk's readonly or shareable), remembers its owner and restores it.
   */
  explicitDataStore?: boolean;
}

/** What a file looks like, as far as labelling goes. Checked again right before each change. */
export interface FileState {
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  mode: number;
  selinux: string | null;
  /** trusted.libvirt.security.* xattrs by short name (`dac`, `ref_dac`, ...). */
  libvirt: Record<string, string>;
  /** Hard links (st_nlink). */
  nlink?: number;
  /** NSS names of uid and gid, for display; null when the id has no name. */
  user?: string | null;
  group?: string | null;
  /** Folders only: the access ACL in getfacl's short text form ("user::rwx,user:107:--x,..."), null when there is none. */
  acl?: string | null;
}

/**
 * An access fix on a folder the VM's process must search (check-access --fix): an ACL entry
 * that gives the VM's uid search permission, never anything else (see electron/access/rule.ts).
 */
export interface FolderAclEntry {
  path: string;
  before: FileState;
  after: FileState;
  /** Human-readable lines: "add user:107:--x", "mask --- → --x". */
  changes: string[];
  /** The chain files whose path goes through this folder. */
  for: string[];
}

export interface PlanEntry {
  path: string;
  role: Role;
  /** True for the top and the top's data file. */
  top: boolean;
  before: FileState;
  after: FileState;
  /** Whether the original label is (or stays) remembered in libvirt's xattrs. */
  remembered: boolean;
  /** Human-readable lines: "owner 0:0 → 107:107", "selinux ... → ...". Empty: nothing changes. */
  changes: string[];
  /** Why a file is left as it is (for instance "still used by another VM (refcount 1)"). */
  note?: string;
  /** The top image this entry belongs to (plans made for several disks at once). */
  disk?: string;
  /** Whether the action touches this file at all (restore leaves backing images alone). */
  target?: boolean;
}

export interface Refusal {
  path: string;
  message: string;
}

export interface Plan {
  id: string;
  action: Action;
  /** The top image's real path. */
  top: string;
  profile: VmProfile;
  /** The host boot time used for timestamp_* records. */
  bootTime: string;
  entries: PlanEntry[];
  /** Non-empty: the plan must not be applied, nothing changes. */
  refusals: Refusal[];
  /** Every top image of the plan (several when disks are planned together); `top` is the first. */
  tops?: string[];
  /** The folders targets must lie in, as real paths. */
  allowedRoots?: string[];
  /** Things worth knowing that do not stop the plan ("no SELinux policy on this host ..."). */
  notes?: string[];
  /** When the plan was made (ms since the epoch). */
  createdMs?: number;
  /**
   * Present on a plan made by check-access --fix: `entries` are then the relabel entries of the
   * files that block the VM only, and `access.folders` the folder ACL changes. Applied through
   * the same helper and journal as a relabel (the helper re-checks and re-plans it all).
   */
  access?: AccessFixPart;
}

export interface AccessFixPart {
  /** The top as given (symlinks and all: the path qemu is given is the path walked). */
  path: string;
  /** Supplementary groups given instead of NSS's. */
  groups?: number[];
  folders: FolderAclEntry[];
}

export interface ApplyResult {
  journalId: string;
  changed: number;
  /** False when nothing was changed (refused) or everything was rolled back. */
  ok?: boolean;
  refusals?: Refusal[];
  /** Why it failed, in one sentence. */
  message?: string;
  /** True when a failure half-way was undone (files are as before). */
  rolledBack?: boolean;
  /** Files whose state was not the one expected and were left alone (recover/undo conflicts). */
  conflicts?: Refusal[];
}

export type JournalKind = Action | 'undo' | 'access-fix';
export type JournalStatus = 'committed' | 'rolled-back' | 'interrupted' | 'recovered' | 'undone';

/** One journalled change (a relabel, a restore or an undo) as `listJournal()` shows it. */
export interface JournalSummary {
  id: string;
  kind: JournalKind;
  tops: string[];
  /** ms since the epoch. */
  startedMs: number;
  status: JournalStatus;
  /** Files changed (or about to be, for an interrupted one). */
  files: number;
  /** For an undo: the journal it reverted. */
  undoOf?: string;
  /** The undo that reverted this one. */
  undoneBy?: string;
  /** The changed files' paths in journal order, each once, at most 50 (what History lists). */
  paths?: string[];
}

export interface RecoverResult {
  /** Journals that were interrupted and are now brought back. */
  recovered: string[];
  /** Files put back. */
  files: number;
  /** Files left alone because they changed since (or are gone). */
  conflicts: Refusal[];
}
