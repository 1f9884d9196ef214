// AppArmor: libvirt confines each VM with a profile `libvirt-UUID` whose disk rules virt-aa-helper
// writes to /etc/apparmor.d/libvirt/libvirt-UUID.files, one rule per line:
//   "/var/lib/libvirt/images/vm.qcow2" rwk,      (the top)
//   "/var/lib/libvirt/images/base.qcow2" rk,     (backing files, readonly disks)
//   deny "/path" w,                              (after read-only rules)
// (paths are real paths; `/**` appears for whole folders). We read those files, bounded, and say
// which profiles let qemu open a file as it needs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AppArmorFinding } from '../../../shared/access.js';

export const APPARMOR_LIBVIRT_DIR = '/etc/apparmor.d/libvirt';
export const APPARMOR_SYSFS = '/sys/kernel/security/apparmor';
const MAX_FILES = 4096;
const MAX_FILE_BYTES = 1 << 20;
const MAX_RULE_PATH = 4096;

export interface AppArmorRule {
  deny: boolean;
  pattern: string;
  perms: string;
  re: RegExp;
}

export interface AppArmorProfile {
  name: string;
  file: string;
  rules: AppArmorRule[];
}

export interface AppArmorState {
  /** The kernel module is loaded (its securityfs folder exists). */
  enabled: boolean;
  profiles: AppArmorProfile[];
  /** Files that could not be read (named, with why). */
  problems: string[];
}

/** AppArmor's globbing, as far as virt-aa-helper's rules use it: `**`, `*`, `?`, `{a,b}`, `[...]`. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      re += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (c === ',' && depth > 0) re += '|';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('^') ? '^' + body.slice(1) : body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  while (depth-- > 0) re += ')';
  return new RegExp(`^${re}$`);
}

const RULE_RE = /^\s*(deny\s+)?(?:"((?:[^"\\]|\\.)*)"|(\/\S*))\s+([a-zA-Z]+)\s*,\s*(?:#.*)?$/;

/** Parse one .files text; lines that are not file rules (comments, other rules) are skipped. */
export function parseFilesProfile(text: string): AppArmorRule[] {
  const rules: AppArmorRule[] = [];
  for (const line of text.split('\n')) {
    const m = RULE_RE.exec(line);
    if (!m) continue;
    const pattern = m[2] ?? m[3]!;
    if (pattern.length > MAX_RULE_PATH) continue;
    try {
      rules.push({ deny: !!m[1], pattern, perms: m[4]!, re: globToRegExp(pattern) });
    } catch {
      // A pattern we cannot turn into a regular expression: not a disk rule virt-aa-helper writes.
    }
  }
  return rules;
}

/** Read every libvirt-*.files under `dir` (regular files only, bounded). */
export function loadAppArmor(dir = APPARMOR_LIBVIRT_DIR, sysfs = APPARMOR_SYSFS): AppArmorState {
  const state: AppArmorState = { enabled: fs.existsSync(sysfs), profiles: [], problems: [] };
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return state;
  }
  for (const n of names
    .filter((x) => /^libvirt-[A-Za-z0-9-]+\.files$/.test(x))
    .sort()
    .slice(0, MAX_FILES)) {
    const file = path.join(dir, n);
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > MAX_FILE_BYTES) throw new Error(`larger than ${MAX_FILE_BYTES} bytes`);
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      let text: string;
      try {
        const buf = Buffer.alloc(Math.min(st.size, MAX_FILE_BYTES));
        const got = fs.readSync(fd, buf, 0, buf.length, 0);
        text = buf.subarray(0, got).toString('utf8');
      } finally {
        fs.closeSync(fd);
      }
      state.profiles.push({ name: n.slice(0, -'.files'.length), file, rules: parseFilesProfile(text) });
    } catch (e) {
      state.problems.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return state;
}

/** Whether AppArmor has anything to say here at all. */
export function appArmorPresent(s: AppArmorState): boolean {
  return s.enabled || s.profiles.length > 0;
}

/** Which profiles allow `file` (a real path) with `needed` (r=4, w=2). */
export function appArmorFor(s: AppArmorState, file: string, needed: number): AppArmorFinding {
  const want = `${needed & 4 ? 'r' : ''}${needed & 2 ? 'w' : ''}`;
  const allowedBy: string[] = [];
  let best: string | null = null;
  for (const p of s.profiles) {
    let allow = '';
    let deny = '';
    for (const r of p.rules) {
      if (!r.re.test(file)) continue;
      if (r.deny) deny += r.perms;
      else allow += r.perms;
    }
    if (!allow) continue;
    // "rwk" also grants append; a write rule is what qemu needs for rw opens.
    const eff = [...new Set(allow)].filter((c) => !deny.includes(c)).join('');
    if (!best || eff.length > best.length) best = eff;
    if ([...want].every((c) => eff.includes(c))) allowedBy.push(p.name);
  }
  const ok = allowedBy.length > 0;
  const message = ok
    ? `allowed (${want}) by AppArmor profile ${allowedBy.join(', ')}`
    : best
      ? `AppArmor libvirt profiles give only '${best}' on ${file}; the VM needs '${want}'`
      : `no libvirt AppArmor profile (${s.profiles.length} read) mentions ${file}; virt-aa-helper adds it when the VM starts with this disk`;
  return { allowedBy, perms: best, ok, message };
}
