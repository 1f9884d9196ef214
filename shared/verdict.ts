// The verdict on a disk image: can the VM's user open every file of its chain, and if not, what
// stops it, one short line per blocker. Plain JSON data for the CLI (`diskchain why`) and the app.

/** What stops the VM's process from opening a file. */
export type VerdictKind =
  | 'search' // a folder on the way lacks search (x) permission
  | 'mode' // the file's mode bits do not grant what is needed (for its owner, or for anyone)
  | 'owner' // the file belongs to someone else: its owner's bits would grant it
  | 'acl' // an ACL entry (or its mask) denies it
  | 'selinux' // the file's SELinux type is not one libvirt sets
  | 'apparmor' // no libvirt AppArmor profile allows it
  | 'read-only-fs' // the file must be writable but lies on a read-only mount
  | 'immutable' // the file must be writable but carries the immutable attribute (chattr +i)
  | 'append-only' // the file must be writable but carries the append-only attribute (chattr +a)
  | 'path' // the path does not lead to a regular file (missing, not a folder, link loop, protected link)
  | 'unreadable'; // the check could not read what it needed (a clear error instead of a guess)

export interface VerdictFinding {
  /** Real path of the blocking file or folder. */
  path: string;
  /** The chain file that cannot be opened because of it. */
  file: string;
  kind: VerdictKind;
  /** One short human sentence: "base.qcow2: mode 0600 root:root", "/srv/vm: no search permission". */
  reason: string;
}

export interface VerdictSubject {
  user: string;
  uid: number;
  group: string;
  gid: number;
  /** Where the user and group came from: given, or libvirt's default owner on this host. */
  source: 'given' | 'libvirt-default';
}

export interface Verdict {
  state: 'ok' | 'blocked';
  /** The top as given, and its real path. */
  path: string;
  top: string;
  subject: VerdictSubject;
  /** Files of the chain checked. */
  files: number;
  /** Files the subject cannot open as qemu needs. */
  blockedFiles: number;
  blockers: VerdictFinding[];
  /** Findings that do not block on this host (SELinux or AppArmor not enforcing), listed apart. */
  notes: VerdictFinding[];
  /** Other remarks of the check (a network name, a file that changed meanwhile). */
  remarks: string[];
}

/** The subject as a short text: "libvirt-qemu (64055:64055)". */
export function verdictSubjectText(s: VerdictSubject): string {
  return `${s.user.startsWith('+') ? s.user.slice(1) : s.user} (${s.uid}:${s.gid})`;
}

/** The verdict's first line: "qemu (107:107) cannot open 2 of 5 files". */
export function verdictHeadline(v: Verdict): string {
  const who = verdictSubjectText(v.subject);
  return v.state === 'ok' ? `${who} can open every file` : `${who} cannot open ${v.blockedFiles} of ${v.files} files`;
}

/** Which layer refused an open, as a denial record and the files themselves say. */
export type DenialLayer =
  | VerdictKind
  | 'selinux-type' // the file's SELinux type is not one the VM's domain may open
  | 'selinux-mcs' // the file's MCS categories are not within the process's (another VM's, or none given)
  | 'apparmor-rule' // the VM's AppArmor profile has no rule for the file
  | 'none-now'; // nothing refuses the subject now: changed since, or a layer not checked here

/** One denial found in a log, explained. */
export interface Denial {
  /** What wrote the record. */
  source: 'qemu' | 'libvirt' | 'selinux' | 'apparmor';
  /** Line number in the input (1-based). */
  line: number;
  /** The file as the record names it (a path, or an AVC's name=). */
  named: string;
  /** Its real path, when found. */
  file: string | null;
  /** The chain top that uses the file, when one was found (the file itself when it is a top). */
  top: string | null;
  /** Who was refused: uid/gid, an SELinux context, an AppArmor profile; text is for people. */
  subject: { uid?: number; gid?: number; scontext?: string; profile?: string; text: string };
  layers: DenialLayer[];
  /** One short sentence per layer. */
  explanation: string[];
  /** The verdict for the subject on the file's chain, null when it could not be made (see problems). */
  verdict: Verdict | null;
  problems: string[];
}
