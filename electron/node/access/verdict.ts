// The verdict on a disk image for the VM's user: checkAccess's findings, each as one short line of
// a kind a user acts on (search, mode, owner, ACL, SELinux, AppArmor), plus what stops a write the
// mode allows (read-only mount, immutable or append-only attribute).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Blocker, PermCheck } from '../../../shared/access.js';
import type { Verdict, VerdictFinding, VerdictKind, VerdictSubject } from '../../../shared/verdict.js';
import { defaultOwner } from '../libvirt/owner.js';
import { checkAccess, W, type CheckOptions } from './check.js';
import { writeBlocks } from './fsflags.js';

export interface VerdictWho {
  user?: string;
  group?: string;
}

/** The VM's user and group: as given, else libvirt's default owner here; throws when there is none. */
export function verdictOwner(who: VerdictWho = {}): { user: string; group: string; source: VerdictSubject['source'] } {
  if (who.user !== undefined && who.group !== undefined) return { user: who.user, group: who.group, source: 'given' };
  const d = defaultOwner();
  if (!d) {
    throw new Error(
      `no VM user given and libvirt's default owner does not exist on this host (no user or group in ${process.env.DISKCHAIN_QEMU_CONF ?? '/etc/libvirt/qemu.conf'}, no libvirt-qemu or qemu account): give --user and --group`,
    );
  }
  return { user: who.user ?? d.user, group: who.group ?? d.group, source: who.user === undefined ? 'libvirt-default' : 'given' };
}

function ownerText(c: PermCheck): string {
  return `${c.user ?? c.uid}:${c.group ?? c.gid}`;
}

function modeText(c: PermCheck): string {
  return `mode ${(c.mode & 0o7777).toString(8).padStart(4, '0')} ${ownerText(c)}`;
}

/** A denied file check as the thing to change: an ACL entry, the owner (whose bits would do), or the mode. */
function fileKind(c: PermCheck): VerdictKind {
  if (c.acl && (c.rule === 'named-user' || c.rule === 'named-group' || c.rule === 'owning-group')) return 'acl';
  const ownerBits = (c.mode >> 6) & 7;
  return c.rule !== 'owner' && (ownerBits & c.needed) === c.needed ? 'owner' : 'mode';
}

function finding(b: Blocker): VerdictFinding {
  const base = path.basename(b.path);
  const at = { path: b.path, file: b.file };
  switch (b.kind) {
    case 'search':
      return { ...at, kind: 'search', reason: `${b.path}: no search permission${b.check ? ` (${modeText(b.check)})` : ''}` };
    case 'access': {
      const kind = fileKind(b.check!);
      return { ...at, kind, reason: kind === 'acl' ? `${base}: ACL entry ${b.check!.entry}` : `${base}: ${modeText(b.check!)}` };
    }
    case 'selinux':
      return { ...at, kind: 'selinux', reason: b.message };
    case 'apparmor':
      return { ...at, kind: 'apparmor', reason: `${base}: no libvirt AppArmor profile allows it` };
    case 'unreadable':
      return { ...at, kind: 'unreadable', reason: b.message };
    default:
      return { ...at, kind: 'path', reason: b.message };
  }
}

/** The verdict on the chain at `top` for the VM's user (given, else libvirt's default owner). */
export function verdictFor(top: string, who?: VerdictWho, opts: CheckOptions = {}): Verdict {
  const owner = verdictOwner(who);
  const report = checkAccess(top, { user: owner.user, group: owner.group }, opts);
  const blockers: VerdictFinding[] = [];
  const notes: VerdictFinding[] = [];
  const blockedFiles = new Set<string>();
  for (const b of report.blockers) {
    (b.blocking ? blockers : notes).push(finding(b));
    if (b.blocking) blockedFiles.add(b.file);
  }
  for (const f of report.files) {
    if (!(f.needed & W) || !f.check) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(f.check.path);
    } catch {
      continue;
    }
    for (const w of writeBlocks(f.check.path, st)) {
      blockers.push({ path: f.check.path, file: f.path, kind: w.kind, reason: w.reason });
      blockedFiles.add(f.path);
    }
  }
  const s = report.subject;
  return {
    state: blockers.length ? 'blocked' : 'ok',
    path: report.path,
    top: report.top,
    subject: { user: s.user, uid: s.uid, group: s.group, gid: s.gid, source: owner.source },
    files: report.files.length,
    blockedFiles: blockedFiles.size,
    blockers,
    notes,
    remarks: report.notes,
  };
}
