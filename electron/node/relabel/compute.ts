// The heart of Relabel / Restore: for every file of inspected chains, what libvirt's DAC and
// SELinux drivers would leave on it (security_dac.c, security_selinux.c, security_util.c).
// Pure over its inputs: the live states come from `ctx.capture`, so the same code runs in the
// app (preview) and in the helper (re-plan before applying).
import type { ChainNode, ProblemCode } from '../../../shared/model.js';
import {
  CONTENT_LABEL,
  SHARED_IMAGE_LABEL,
  type Action,
  type DiskProfile,
  type DiskSeclabel,
  type Driver,
  type PlanEntry,
  type Refusal,
  type VmProfile,
} from '../../../shared/plan.js';
import { groupName, userName } from '../native/libc.js';
import { ConsentError } from '../change/consent.js';
import { diskFiles } from '../core/disk-files.js';
import { insideAny } from '../change/consent.js';
import { sameBoot, writtenBootTime } from '../core/boottime.js';
import { findOriginal, indexOriginals, readOriginals, type Original } from '../change/originals.js';
import { parseGroup, parseOwnership, parseUser } from '../libvirt/owner.js';
import {
  LIBVIRT_PREFIX,
  SELINUX_XATTR,
  cloneRaw,
  isRegular,
  selinuxHex,
  textHex,
  toFileState,
  xattrText,
  type RawState,
} from '../change/state.js';

export interface PlanContext {
  bootTime: string;
  /** The live state of a file (opened without following links). Throws when it cannot be read. */
  capture(path: string): RawState;
  /** The policy's default context for a path (selabel_lookup_raw), null when there is none. */
  defaultContext(path: string, mode: number): string | null;
  /** diskchain's memory of original labels (change/originals.ts); default: read from the state folder on restore. */
  originals?: readonly Original[];
}

import type { RawChange } from '../change/state.js';

export type { RawChange };

export interface Computed {
  entries: PlanEntry[];
  refusals: Refusal[];
  notes: string[];
  changes: RawChange[];
}

/** Node problems that make a file impossible (or unsafe) to change. */
const BLOCKING: ReadonlySet<ProblemCode> = new Set([
  'missing',
  'unreadable',
  'loop',
  'too-deep',
  'protocol',
  'network',
  'not-regular',
  'device',
  'unsafe-path',
  'bad-name',
  'no-backing-format',
  'invalid-header',
]);

function ownerText(uid: number, gid: number): string {
  const u = userName(uid);
  const g = groupName(gid);
  return `${u ?? uid}:${g ?? gid} (${uid}:${gid})`;
}

function attr(driver: Driver, kind: '' | 'ref_' | 'timestamp_'): string {
  return `${LIBVIRT_PREFIX}${kind}${driver}`;
}

class FilePlanner {
  readonly cur: RawState;
  readonly changes: string[] = [];
  readonly notes: string[] = [];
  readonly refusals: string[] = [];

  constructor(
    readonly path: string,
    readonly live: RawState,
    readonly bootTime: string,
  ) {
    this.cur = cloneRaw(live);
  }

  get(name: string): string | null {
    return xattrText(this.cur.xattrs[name]);
  }

  set(name: string, value: string): void {
    this.cur.xattrs[name] = textHex(value);
  }

  remove(name: string): void {
    delete this.cur.xattrs[name];
  }

  /** virSecurityValidateTimestamp: a record from another boot (or without one) is purged. True: purged. */
  purgeIfStale(driver: Driver): boolean {
    const ts = this.get(attr(driver, 'timestamp_'));
    if (sameBoot(ts, this.bootTime)) return false;
    for (const k of ['', 'ref_', 'timestamp_'] as const) this.remove(attr(driver, k));
    this.changes.push(`discard stale ${driver} record (${ts === null ? 'no timestamp' : `boot ${ts}`}, this boot ${this.bootTime})`);
    return true;
  }

  /** virSecuritySetRememberedLabel. Returns the new refcount, or null when it was refused. */
  remember(driver: Driver, original: string): number | null {
    let value = this.get(attr(driver, 'ref_'));
    if (value !== null && this.purgeIfStale(driver)) value = null;
    let refcount = 0;
    if (value !== null) {
      if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) {
        this.refusals.push(`malformed refcount '${value}' in ${attr(driver, 'ref_')}`);
        return null;
      }
      refcount = Number(value);
    }
    refcount++;
    if (refcount === 1) {
      // Another driver's record libvirt already counts as this boot's keeps its exact timestamp,
      // so a libvirt whose boot time is a second off ours accepts this record too.
      const others = (['dac', 'selinux'] as const).filter((d) => d !== driver).map((d) => this.get(attr(d, 'timestamp_')));
      const ts = writtenBootTime(others, this.bootTime);
      this.set(attr(driver, ''), original);
      this.set(attr(driver, 'timestamp_'), ts);
      this.changes.push(`remember ${driver} ${original} (refcount 1, boot ${ts})`);
    } else {
      this.changes.push(`${driver} refcount ${refcount - 1} → ${refcount}`);
    }
    this.set(attr(driver, 'ref_'), String(refcount));
    return refcount;
  }

  /**
   * virSecurityGetRememberedLabel. 'none': no valid record (fall back); 'in-use': the count went
   * down and stays above 0; otherwise the remembered label, with the record removed.
   */
  recall(driver: Driver): { kind: 'none' } | { kind: 'in-use'; refcount: number } | { kind: 'label'; label: string } | null {
    const value = this.get(attr(driver, 'ref_'));
    if (value === null) return { kind: 'none' };
    if (this.purgeIfStale(driver)) return { kind: 'none' };
    if (!/^\d{1,10}$/.test(value) || Number(value) === 0 || Number(value) > 0xffffffff) {
      this.refusals.push(`malformed refcount '${value}' in ${attr(driver, 'ref_')}`);
      return null;
    }
    const refcount = Number(value) - 1;
    if (refcount > 0) {
      this.set(attr(driver, 'ref_'), String(refcount));
      this.changes.push(`${driver} refcount ${refcount + 1} → ${refcount} (still used by another VM)`);
      return { kind: 'in-use', refcount };
    }
    const label = this.get(attr(driver, ''));
    if (label === null) {
      this.refusals.push(`${attr(driver, 'ref_')} is set but ${attr(driver, '')} is missing: the remembered ${driver} label is lost`);
      return null;
    }
    for (const k of ['ref_', '', 'timestamp_'] as const) this.remove(attr(driver, k));
    this.changes.push(`forget ${driver} record (original ${label})`);
    return { kind: 'label', label };
  }

  chown(uid: number, gid: number): void {
    // virSecurityDACSetOwnershipInternal: nothing to do when the owner already matches.
    if (this.cur.uid === uid && this.cur.gid === gid) return;
    this.changes.push(`owner ${ownerText(this.cur.uid, this.cur.gid)} → ${ownerText(uid, gid)}`);
    this.cur.uid = uid;
    this.cur.gid = gid;
  }

  setContext(context: string): void {
    const now = this.get(SELINUX_XATTR);
    if (now === context) return;
    this.changes.push(`selinux ${now ?? '(none)'} → ${context}`);
    this.cur.xattrs[SELINUX_XATTR] = selinuxHex(context);
  }
}

/**
 * The seclabel that decides `driver` for a file of a disk, as security_dac.c and
 * security_selinux.c pick it: the file's own layer's, else the disk's, when it says relabel='no'
 * or gives a label; null: the VM's label applies.
 */
export function seclabelFor(disk: DiskProfile | undefined, imagePath: string, driver: Driver): DiskSeclabel | null {
  if (!disk) return null;
  const decides = (s: DiskSeclabel | undefined) => (s && (!s.relabel || s.label) ? s : undefined);
  return (
    decides(disk.layerSeclabels?.[imagePath]?.find((s) => s.model === driver)) ??
    decides(disk.seclabels.find((s) => s.model === driver)) ??
    null
  );
}

function nodeRefusal(node: ChainNode, roots: readonly string[], allowHardLinks: boolean): string | null {
  const p = node.problems.find((x) => BLOCKING.has(x.code));
  if (p) return p.message;
  if (node.nameInfo && node.nameInfo.kind !== 'file') return `'${node.name}' is a ${node.nameInfo.kind} name, not a local file`;
  if (node.format === 'vmdk' && !node.header) {
    // qemu may still open it, with extent files nobody listed: never change half a disk.
    return 'its vmdk descriptor could not be read, so the extent files qemu opens with it are unknown';
  }
  if (!node.stat) return 'could not be examined';
  if (node.stat.type !== 'file') return `is a ${node.stat.type}, not a regular file`;
  if (!insideAny(node.path, roots)) {
    return `outside the allowed folders (${roots.length ? roots.join(', ') : 'none'}); add its folder with --allow-root`;
  }
  if (node.stat.nlink > 1 && !allowHardLinks)
    return `has ${node.stat.nlink} hard links; changing it changes every name (allow hard links to proceed)`;
  return null;
}

/**
 * Plan `action` for the disks `roots` (each an inspected chain), in order, as libvirt labels
 * several disks of one VM: a file met again sees what the earlier disks left on it.
 */
export function computePlan(action: Action, roots: ChainNode[], profile: VmProfile, allowedRoots: string[], ctx: PlanContext): Computed {
  const entries: PlanEntry[] = [];
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const changes: RawChange[] = [];
  const sim = new Map<string, { state: RawState; change: RawChange | null }>();
  const dac = profile.drivers.includes('dac');
  const selinux = profile.drivers.includes('selinux');
  let uid = 0;
  let gid = 0;
  if (action === 'relabel' && dac) {
    uid = parseUser(profile.user);
    gid = parseGroup(profile.group);
  }
  const imageLabel = profile.imageLabel;
  if (action === 'relabel' && selinux && !imageLabel) throw new Error('the profile has no image label');
  // remember_owner = 0: no records written on start, none read on stop.
  const rememberOwner = profile.rememberOwner !== false;
  const originals = indexOriginals(action === 'restore' ? (ctx.originals ?? originalsOrNote(notes)) : []);

  for (const root of roots) {
    const disk = root.path;
    const dp = profile.disks?.find((d) => d.path === root.path);
    const diskReadonly = dp ? dp.readonly : profile.readonly;
    const diskShareable = dp ? dp.shareable : profile.shareable;
    let image = root.path;
    for (const { node, top, extentOf } of diskFiles(root)) {
      // libvirt decides per virStorageSource, and a data file is a source of its own
      // (dataFileStore). Read from the header it copies the top's readonly flag; parsed from an
      // explicit <dataStore> it is neither readonly nor shared (measured with libvirt 11.3): then
      // it is remembered, given the VM's image label and restored like a private writable top,
      // even on a readonly or shareable disk (SetImageLabelInternal, RestoreImageLabelSingle).
      const ownSource = top && node.role === 'data-file' && !extentOf && dp?.explicitDataStore === true;
      const readonly = diskReadonly && !ownSource;
      const shareable = diskShareable && !ownSource;
      const remember = !readonly && !shareable;
      // An extent is part of its descriptor's image: the descriptor's layer seclabel applies.
      if (node.role !== 'data-file' && !extentOf) image = node.path;
      const refuse = (message: string) => {
        refusals.push({ path: node.path, message: extentOf ? `extent of ${extentOf.path}: ${message}` : message });
      };
      const extentNote = extentOf ? [`vmdk extent of ${extentOf.path}`] : [];
      // A driver the disk's seclabel turns off (relabel='no') leaves this file alone; on stop
      // libvirt looks at the disk's own seclabel only.
      const skip = (d: Driver): DiskSeclabel | null => {
        const s = action === 'relabel' ? seclabelFor(dp, image, d) : (dp?.seclabels.find((x) => x.model === d && !x.relabel) ?? null);
        return s && !s.relabel ? s : null;
      };
      const dacSkip = dac ? skip('dac') : null;
      const selinuxSkip = selinux ? skip('selinux') : null;
      const doDac = dac && !dacSkip;
      const doSelinux = selinux && !selinuxSkip;
      const skipNote = [dacSkip, selinuxSkip]
        .filter(Boolean)
        .map((s) => `${s!.model} left alone: the disk's <seclabel model='${s!.model}' relabel='no'>`);
      const target = (doDac || doSelinux) && (action === 'relabel' || (top && remember));
      const refusedWhy = target ? nodeRefusal(node, allowedRoots, !!profile.allowHardLinks) : null;
      if (refusedWhy) {
        refuse(refusedWhy);
        continue;
      }
      if (!target) {
        // Restore leaves these alone; show them as they are, when they can be read at all.
        const live = node.stat?.type === 'file' ? safeCapture(ctx, node.path) : null;
        if (!live) continue;
        const st = sim.get(`${live.dev}:${live.ino}`)?.state ?? live;
        const state = toFileState(st);
        entries.push({
          path: node.path,
          role: node.role,
          top,
          before: state,
          after: state,
          remembered: false,
          changes: [],
          disk,
          target: false,
          note: [
            ...extentNote,
            !doDac && !doSelinux
              ? skipNote.join('; ')
              : top
                ? 'readonly and shareable disks are not restored (other VMs may use them), as in libvirt'
                : "backing images keep the VM's labels, as in libvirt",
          ]
            .filter(Boolean)
            .join('; '),
        });
        continue;
      }
      let live: RawState;
      try {
        live = ctx.capture(node.path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        refuse(
          e instanceof ConsentError
            ? e.message
            : code === 'ELOOP'
              ? 'is a symbolic link now'
              : `cannot be opened (${code ?? (e as Error).message})`,
        );
        continue;
      }
      if (!isRegular(live.mode)) {
        refuse('is not a regular file');
        continue;
      }
      if (live.mode & 0o6000) {
        // A setuid or setgid program is no disk image; giving it away would hand out privileges.
        refuse('is setuid or setgid: not a disk image, never changed');
        continue;
      }
      if (live.dev !== node.stat!.dev || live.ino !== node.stat!.ino) {
        refuse('was replaced by another file since it was inspected');
        continue;
      }
      const key = `${live.dev}:${live.ino}`;
      const earlier = sim.get(key);
      const start = earlier?.state ?? live;
      const fp = new FilePlanner(node.path, start, ctx.bootTime);
      // Only while the file still has what diskchain gave it: otherwise someone relabelled it since.
      const mine = findOriginal(originals, node.path, live);
      fp.notes.push(...extentNote);
      let remembered = false;

      if (action === 'relabel') {
        const rememberThis = top && remember && rememberOwner;
        if (doDac) {
          if (rememberThis) {
            const n = fp.remember('dac', `+${start.uid}:+${start.gid}`);
            if (n !== null) remembered = true;
            if (n !== null && n > 1 && (start.uid !== uid || start.gid !== gid)) {
              fp.refusals.push(`Setting different DAC user or group on ${node.path} which is already in use`);
            }
          }
          const own = seclabelFor(dp, image, 'dac')?.label;
          if (own) {
            try {
              const o = parseOwnership(own);
              fp.chown(o.uid, o.gid);
            } catch (e) {
              fp.refusals.push(`the disk's DAC label '${own}': ${(e as Error).message}`);
            }
          } else {
            fp.chown(uid, gid);
          }
        }
        if (doSelinux) {
          const own = seclabelFor(dp, image, 'selinux')?.label;
          const tcon = own ?? (top ? (shareable ? SHARED_IMAGE_LABEL : readonly ? CONTENT_LABEL : imageLabel!) : CONTENT_LABEL);
          const econ = fp.get(SELINUX_XATTR);
          if (rememberThis) {
            if (econ === null) {
              fp.notes.push('no SELinux context to remember (libvirt remembers only an existing one)');
            } else {
              const n = fp.remember('selinux', econ);
              if (n !== null) remembered = true;
              if (n !== null && n > 1 && econ !== tcon) {
                fp.refusals.push(`Setting different SELinux label on ${node.path} which is already in use`);
              }
            }
          }
          fp.setContext(tcon);
        }
      } else {
        if (doDac && !rememberOwner) {
          fp.notes.push('remember_owner = 0: libvirt reads no record, owner back to root:root');
          fp.chown(0, 0);
        } else if (doDac) {
          const r = fp.recall('dac');
          if (r?.kind === 'none' && mine && mine.set.uid === start.uid && mine.set.gid === start.gid) {
            fp.notes.push('no valid dac record (libvirt drops them when a VM stops): the original owner diskchain remembered');
            fp.chown(mine.uid, mine.gid);
          } else if (r?.kind === 'none') {
            fp.notes.push('no valid dac record: owner back to root:root, as libvirt does');
            fp.chown(0, 0);
          } else if (r?.kind === 'label') {
            try {
              const o = parseOwnership(r.label);
              fp.chown(o.uid, o.gid);
            } catch (e) {
              fp.refusals.push(`remembered dac label '${r.label}': ${(e as Error).message}`);
            }
          } else if (r?.kind === 'in-use') {
            remembered = true;
            fp.notes.push(`owner kept: still used by another VM (dac refcount ${r.refcount})`);
          }
        }
        if (doSelinux) {
          const r = rememberOwner ? fp.recall('selinux') : { kind: 'none' as const };
          const context = fp.get(SELINUX_XATTR);
          if (r?.kind === 'none' && rememberOwner && mine?.selinux && mine.set.selinux === context) {
            fp.notes.push('no valid selinux record (libvirt drops them when a VM stops): the original context diskchain remembered');
            fp.setContext(mine.selinux);
          } else if (r?.kind === 'none') {
            const def = ctx.defaultContext(node.path, start.mode);
            if (def) {
              fp.notes.push("no valid selinux record: the policy's default context, as libvirt does");
              fp.setContext(def);
            } else {
              fp.notes.push('no valid selinux record and no policy default for this path: context left as it is');
            }
          } else if (r?.kind === 'label') {
            fp.setContext(r.label);
          } else if (r?.kind === 'in-use') {
            remembered = true;
            fp.notes.push(`context kept: still used by another VM (selinux refcount ${r.refcount})`);
          }
        }
      }

      if (skipNote.length) fp.notes.push(...skipNote);
      if (fp.refusals.length) {
        for (const m of fp.refusals) refuse(m);
        continue;
      }
      const after = fp.cur;
      let change: RawChange | null = null;
      if (fp.changes.length) {
        if (earlier?.change) {
          // The same file in an earlier disk: one change from its first state to its last.
          earlier.change.to = after;
          change = earlier.change;
        } else {
          change = { path: node.path, disk, from: live, to: after };
          changes.push(change);
        }
      } else if (earlier?.change) {
        change = earlier.change;
      }
      sim.set(key, { state: after, change });
      entries.push({
        path: node.path,
        role: node.role,
        top,
        before: toFileState(start),
        after: toFileState(after),
        remembered,
        changes: fp.changes,
        disk,
        target: true,
        ...(fp.notes.length ? { note: fp.notes.join('; ') } : {}),
      });
    }
  }
  return { entries, refusals, notes, changes };
}

function originalsOrNote(notes: string[]): readonly Original[] {
  try {
    return readOriginals();
  } catch (e) {
    notes.push(`diskchain's memory of original labels is not used: ${(e as Error).message}`);
    return [];
  }
}

function safeCapture(ctx: PlanContext, path: string): RawState | null {
  try {
    const s = ctx.capture(path);
    return isRegular(s.mode) ? s : null;
  } catch {
    return null;
  }
}
