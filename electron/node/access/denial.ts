// Explain denials found in a log: the file (found by inode for an AVC record, which names only a
// basename), the chain top that uses it, who was refused, which layer refused, and the verdict
// for that subject now.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Denial, DenialLayer, Verdict } from '../../../shared/verdict.js';
import { errorText } from '../../../shared/error-text.js';
import { listTree, scan } from '../core/scan.js';
import { lookupUser, userName } from '../native/libc.js';
import { parseDenials, type DenialRecord } from './denial-log.js';
import { verdictFor, type VerdictWho } from './verdict.js';

/** The SELinux types libvirt gives disk files (svirt_image_t for writable tops, virt_content_t for the rest). */
const LIBVIRT_TYPES = new Set(['svirt_image_t', 'virt_content_t']);
/** Categories beyond this are not expanded from a range (the default policy has c0..c1023). */
const MAX_CATEGORY = 1023;
/** At most this many files are listed when looking for an AVC's inode. */
const MAX_SEARCH = 100_000;

/** The categories of an SELinux context's low level ("s0:c1,c2", "s0-s0:c0.c1023" → c0..c1023 of s0). */
export function categories(context: string): Set<number> | null {
  const parts = context.split(':');
  if (parts.length < 4) return null;
  const level = parts.slice(3).join(':').split('-')[0]!;
  const colon = level.indexOf(':');
  const out = new Set<number>();
  if (colon < 0) return out;
  for (const item of level.slice(colon + 1).split(',')) {
    const [lo, hi] = item.split('.').map((c) => (/^c\d{1,4}$/.test(c) ? Number(c.slice(1)) : NaN));
    if (lo === undefined || Number.isNaN(lo) || (hi !== undefined && Number.isNaN(hi))) return null;
    for (let c = lo; c <= Math.min(hi ?? lo, MAX_CATEGORY); c++) out.add(c);
  }
  return out;
}

function selinuxType(context: string | undefined): string | null {
  return context?.split(':')[2] ?? null;
}

/** The layers an AVC record shows: the file's type, else MCS categories the process lacks. */
function selinuxLayers(r: DenialRecord): { layers: DenialLayer[]; explanation: string[] } {
  const t = selinuxType(r.tcontext);
  const what = `SELinux denied { ${(r.perms ?? []).join(' ')} } on ${r.tclass ?? 'the file'}`;
  if (t !== null && !LIBVIRT_TYPES.has(t)) {
    return {
      layers: ['selinux-type'],
      explanation: [`${what}: its type ${t} is not one libvirt gives disks (svirt_image_t, virt_content_t)`],
    };
  }
  const s = r.scontext ? categories(r.scontext) : null;
  const o = r.tcontext ? categories(r.tcontext) : null;
  if (s && o) {
    const missing = [...o].filter((c) => !s.has(c));
    if (missing.length) {
      return {
        layers: ['selinux-mcs'],
        explanation: [
          `${what}: its MCS categories (${r.tcontext}) are not within the process's (${r.scontext}): c${missing.slice(0, 8).join(',c')} missing`,
        ],
      };
    }
  }
  return {
    layers: ['selinux'],
    explanation: [`${what}: the policy allows ${selinuxType(r.scontext) ?? 'the process'} no such access to ${t ?? 'it'}`],
  };
}

/** Real path of the file an AVC names by basename and inode, searched in `dirs`. */
function findByInode(name: string, ino: number, dirs: string[]): string | null {
  const base = path.basename(name);
  const { files } = listTree(dirs);
  for (const f of files.slice(0, MAX_SEARCH)) {
    if (path.basename(f) !== base) continue;
    try {
      const st = fs.lstatSync(f);
      if (st.ino === ino && st.isFile()) return fs.realpathSync.native(f);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** The top of a chain (in the file's folder or `dirs`) that holds `file`; the file itself when none does. */
function topOf(file: string, dirs: string[], cache: Map<string, string[][]>): string {
  const roots = [...new Set([path.dirname(file), ...dirs])];
  const key = roots.join('\0');
  let chains = cache.get(key);
  if (!chains) {
    chains = scan(roots).chains.map((c) => [c.top, ...c.files]);
    cache.set(key, chains);
  }
  return chains.find((c) => c.includes(file))?.[0] ?? file;
}

function subjectOf(r: DenialRecord): Denial['subject'] {
  if (r.source === 'selinux') return { scontext: r.scontext, text: r.scontext ?? 'an SELinux domain' };
  if (r.source === 'apparmor') {
    return { uid: r.uid, profile: r.profile, text: `AppArmor profile ${r.profile ?? '?'}${r.uid !== undefined ? `, fsuid ${r.uid}` : ''}` };
  }
  if (r.uid !== undefined) return { uid: r.uid, gid: r.gid, text: `uid ${r.uid}, gid ${r.gid ?? '?'}` };
  return { text: "the VM's user (not in the record)" };
}

/** Who to check as: the record's uid (and gid, else that user's group), else what was given or libvirt's default. */
function whoFor(r: DenialRecord, given: VerdictWho): VerdictWho {
  if (r.uid === undefined) return given;
  const name = userName(r.uid);
  const gid = r.gid ?? (name ? lookupUser(name)?.gid : undefined);
  return { user: `+${r.uid}`, group: gid !== undefined ? `+${gid}` : given.group };
}

function kernelLayers(file: string, v: Verdict): { layers: DenialLayer[]; explanation: string[] } {
  const mine = v.blockers.filter((b) => b.file === file);
  if (!mine.length)
    return { layers: ['none-now'], explanation: ['nothing refuses this subject now: changed since, or a layer not checked here'] };
  return { layers: [...new Set(mine.map((b) => b.kind))], explanation: mine.map((b) => b.reason) };
}

export interface ExplainOptions {
  /** Folders to look for files in (AVC records name only a basename and an inode). */
  in?: string[];
  who?: VerdictWho;
}

/** Every denial of `text`, explained. */
export function explainDenials(text: string, opts: ExplainOptions = {}): { denials: Denial[]; skippedLines: number } {
  const { records, skipped } = parseDenials(text);
  const named = records.filter((r) => r.isPath).map((r) => path.dirname(r.named));
  const dirs = [...new Set([...(opts.in ?? []).map((d) => path.resolve(d)), ...named])];
  const scans = new Map<string, string[][]>();
  const denials = records.map((r): Denial => {
    const problems: string[] = [];
    let file: string | null = null;
    try {
      if (r.isPath) file = fs.realpathSync.native(r.named);
      else if (r.ino !== undefined) file = findByInode(r.named, r.ino, dirs);
      if (!file)
        problems.push(
          `${r.named}: no file with inode ${r.ino ?? '?'} under ${dirs.length ? dirs.join(', ') : 'any folder given (use --in DIR)'}`,
        );
    } catch (e) {
      problems.push(`${r.named}: ${errorText(e)}`);
    }
    let top: string | null = null;
    let verdict: Verdict | null = null;
    if (file) {
      try {
        top = topOf(file, dirs, scans);
        verdict = verdictFor(top, whoFor(r, opts.who ?? {}));
      } catch (e) {
        problems.push(errorText(e));
      }
    }
    const layered =
      r.source === 'selinux'
        ? selinuxLayers(r)
        : r.source === 'apparmor'
          ? {
              layers: ['apparmor-rule' as const],
              explanation: [`profile ${r.profile ?? '?'} has no rule giving ${r.denied ?? r.requested ?? '?'} on ${r.named}`],
            }
          : file && verdict
            ? kernelLayers(file, verdict)
            : { layers: [], explanation: [] };
    return { source: r.source, line: r.line, named: r.named, file, top, subject: subjectOf(r), ...layered, verdict, problems };
  });
  return { denials, skippedLines: skipped };
}
