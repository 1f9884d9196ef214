// Denial records in logs: qemu's and libvirt's "Permission denied" messages, SELinux AVC records
// and AppArmor's kernel records. Logs are untrusted text: every line is bounded and parsed with
// indexOf and slices only (no regular expression runs over a whole line).

/** Longer lines are skipped: no record diskchain reads comes near this. */
export const MAX_LINE = 16 * 1024;
/** At most this many records are kept from one input. */
export const MAX_RECORDS = 1000;

export interface DenialRecord {
  source: 'qemu' | 'libvirt' | 'selinux' | 'apparmor';
  line: number;
  /** A path (qemu, libvirt, AppArmor; an AVC's path= when it has one) or an AVC's name=. */
  named: string;
  isPath: boolean;
  uid?: number;
  gid?: number;
  ino?: number;
  scontext?: string;
  tcontext?: string;
  tclass?: string;
  perms?: string[];
  profile?: string;
  requested?: string;
  denied?: string;
}

const ERRORS = [': Permission denied', ': Operation not permitted'];

/** An audit field's value: "quoted", or unquoted (hex-encoded when the kernel had to: odd bytes in it). */
export function auditField(line: string, key: string): string | null {
  let from = 0;
  for (;;) {
    const at = line.indexOf(`${key}=`, from);
    if (at < 0) return null;
    from = at + key.length + 1;
    if (at > 0 && line[at - 1] !== ' ') continue;
    if (line[from] === '"') {
      const end = line.indexOf('"', from + 1);
      return end < 0 ? null : line.slice(from + 1, end);
    }
    let end = line.indexOf(' ', from);
    if (end < 0) end = line.length;
    const raw = line.slice(from, end);
    return key === 'name' || key === 'path' ? hexName(raw) : raw;
  }
}

function hexName(raw: string): string {
  if (raw.length === 0 || raw.length % 2 || !/^[0-9A-F]+$/.test(raw)) return raw;
  return Buffer.from(raw, 'hex').toString('utf8');
}

function id(v: string | null): number | undefined {
  return v !== null && /^\d{1,10}$/.test(v) && Number(v) <= 0xfffffffe ? Number(v) : undefined;
}

/** `prefix'X'suffix…error` → X: the last quote before the suffix closes it, so quotes inside X survive. */
function quoted(line: string, prefix: string, suffix: string): string | null {
  const at = line.indexOf(prefix);
  if (at < 0 || !ERRORS.some((e) => line.includes(e, at))) return null;
  const start = at + prefix.length;
  const end = line.lastIndexOf(suffix);
  return end > start ? line.slice(start, end) : null;
}

function parseLine(line: string, n: number): DenialRecord | null {
  const libvirt = quoted(line, "Cannot access storage file '", "' (as uid:");
  if (libvirt !== null) {
    const rest = line.slice(line.lastIndexOf("' (as uid:") + 10);
    const comma = rest.indexOf(', gid:');
    const close = rest.indexOf(')');
    return {
      source: 'libvirt',
      line: n,
      named: libvirt,
      isPath: true,
      uid: id(rest.slice(0, comma < 0 ? 0 : comma)),
      gid: id(comma < 0 || close < comma ? null : rest.slice(comma + 6, close)),
    };
  }
  for (const e of ERRORS) {
    const qemu = quoted(line, "Could not open '", `'${e}`);
    if (qemu !== null) return { source: 'qemu', line: n, named: qemu, isPath: true };
  }
  if (line.includes('avc:') && line.includes(' denied ')) {
    const path = auditField(line, 'path');
    const name = path ?? auditField(line, 'name');
    if (name === null) return null;
    const open = line.indexOf('{');
    const close = line.indexOf('}', open);
    return {
      source: 'selinux',
      line: n,
      named: name,
      isPath: path !== null && path.startsWith('/'),
      ino: id(auditField(line, 'ino')),
      scontext: auditField(line, 'scontext') ?? undefined,
      tcontext: auditField(line, 'tcontext') ?? undefined,
      tclass: auditField(line, 'tclass') ?? undefined,
      perms:
        open >= 0 && close > open
          ? line
              .slice(open + 1, close)
              .split(' ')
              .filter(Boolean)
          : [],
    };
  }
  if (auditField(line, 'apparmor') === 'DENIED') {
    const name = auditField(line, 'name');
    if (name === null) return null;
    return {
      source: 'apparmor',
      line: n,
      named: name,
      isPath: name.startsWith('/'),
      uid: id(auditField(line, 'fsuid')),
      profile: auditField(line, 'profile') ?? undefined,
      requested: auditField(line, 'requested_mask') ?? undefined,
      denied: auditField(line, 'denied_mask') ?? undefined,
    };
  }
  return null;
}

/** Every denial record of `text`, at most MAX_RECORDS, and how many lines were too long to read. */
export function parseDenials(text: string): { records: DenialRecord[]; skipped: number } {
  const records: DenialRecord[] = [];
  let skipped = 0;
  let start = 0;
  for (let n = 1; start < text.length && records.length < MAX_RECORDS; n++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end - start > MAX_LINE) skipped++;
    else {
      const r = parseLine(text.slice(start, end), n);
      if (r) records.push(r);
    }
    start = end + 1;
  }
  return { records, skipped };
}
