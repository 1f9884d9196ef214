// qemu.conf in libvirt's virConf syntax (src/util/virconf.c): `name = value` separated by newlines
// or `;`, values are "strings", 'strings', """multi-line strings""", integers, or lists
// [ v, v, ... ] that may span lines; `#` starts a comment. Each value keeps its line, so the
// profile can say where it came from. The first setting of a name is the one libvirt reads.
import * as fs from 'node:fs';

export const DEFAULT_QEMU_CONF = '/etc/libvirt/qemu.conf';
/** qemu.conf as shipped is ~40 KiB of comments. */
export const MAX_CONF_BYTES = 1024 * 1024;
const MAX_LIST = 1024;

export type ConfValue = { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'list'; value: ConfValue[] };

export interface ConfEntry {
  name: string;
  value: ConfValue;
  /** 1-based line of the name. */
  line: number;
  /** The setting as written (its first line, trimmed), for "qemu.conf:12 user = \"qemu\"". */
  text: string;
}

export interface QemuConf {
  path: string;
  entries: ConfEntry[];
}

export class ConfError extends Error {}

/** Parse virConf text; `origin` names it in errors ("qemu.conf:12: ..."). */
export function parseConf(text: string, origin: string): QemuConf {
  if (Buffer.byteLength(text) > MAX_CONF_BYTES) throw new ConfError(`${origin}: larger than ${MAX_CONF_BYTES} bytes`);
  const lines = text.split('\n');
  let pos = 0;
  let line = 1;
  const entries: ConfEntry[] = [];
  const fail = (msg: string): never => {
    throw new ConfError(`${origin}:${line}: ${msg}`);
  };
  const peek = () => text[pos];
  const advance = () => {
    if (text[pos] === '\n') line++;
    pos++;
  };
  /** Spaces, tabs, CRs and comments; newlines too when `newlines`. */
  const skip = (newlines: boolean) => {
    for (;;) {
      const c = peek();
      if (c === ' ' || c === '\t' || c === '\r') advance();
      else if (c === '#') while (pos < text.length && peek() !== '\n') advance();
      else if (newlines && c === '\n') advance();
      else return;
    }
  };
  const parseString = (): string => {
    const q = peek()!;
    if (q === '"' && text.startsWith('"""', pos)) {
      const end = text.indexOf('"""', pos + 3);
      if (end < 0) fail('unterminated """ string');
      const s = text.slice(pos + 3, end);
      while (pos < end + 3) advance();
      return s;
    }
    advance();
    const start = pos;
    while (pos < text.length && peek() !== q) {
      if (peek() === '\n') fail('unterminated string');
      advance();
    }
    if (pos >= text.length) fail('unterminated string');
    const s = text.slice(start, pos);
    advance();
    return s;
  };
  const parseValue = (depth: number): ConfValue => {
    const c = peek();
    if (c === '"' || c === "'") return { kind: 'string', value: parseString() };
    if (c === '[') {
      if (depth > 0) fail('lists cannot be nested');
      advance();
      const items: ConfValue[] = [];
      skip(true);
      while (peek() !== ']') {
        if (pos >= text.length) fail('unterminated list');
        if (items.length >= MAX_LIST) fail(`more than ${MAX_LIST} list items`);
        items.push(parseValue(depth + 1));
        skip(true);
        if (peek() === ',') {
          advance();
          skip(true);
        } else if (peek() !== ']') fail("expected ',' or ']' in a list");
      }
      advance();
      return { kind: 'list', value: items };
    }
    const m = /^[+-]?\d{1,19}/.exec(text.slice(pos, pos + 21));
    if (m) {
      for (let i = 0; i < m[0].length; i++) advance();
      return { kind: 'number', value: Number(m[0]) };
    }
    return fail(`expected a value (a "string", a number or a [list])`);
  };

  for (;;) {
    skip(true);
    while (peek() === ';') {
      advance();
      skip(true);
    }
    if (pos >= text.length) break;
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos, pos + 256));
    if (!m) fail(`expected a setting name, found '${peek()}'`);
    const name = m![0];
    const startLine = line;
    for (let i = 0; i < name.length; i++) advance();
    skip(false);
    if (peek() !== '=') fail(`expected '=' after ${name}`);
    advance();
    skip(false);
    const value = parseValue(0);
    skip(false);
    if (pos < text.length && peek() !== '\n' && peek() !== ';') fail(`unexpected '${peek()}' after the value of ${name}`);
    entries.push({ name, value, line: startLine, text: lines[startLine - 1]!.trim() });
  }
  return { path: origin, entries };
}

/**
 * Read qemu.conf as libvirt does: a missing or unreadable file means "all defaults" (libvirt
 * checks access(R_OK) first); a syntax error is an error.
 */
export function readQemuConf(path: string): { conf: QemuConf | null; found: boolean } {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return { conf: null, found: false };
  }
  if (!st.isFile()) throw new ConfError(`${path}: not a regular file`);
  if (st.size > MAX_CONF_BYTES) throw new ConfError(`${path}: larger than ${MAX_CONF_BYTES} bytes`);
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch {
    return { conf: null, found: false };
  }
  try {
    const buf = Buffer.alloc(Math.min(st.size, MAX_CONF_BYTES) + 1);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_CONF_BYTES) throw new ConfError(`${path}: larger than ${MAX_CONF_BYTES} bytes`);
    return { conf: parseConf(buf.subarray(0, n).toString('utf8'), path), found: true };
  } finally {
    fs.closeSync(fd);
  }
}

/** The first setting of `name` (libvirt's virConfGetValue), or null. */
export function confEntry(conf: QemuConf | null, name: string): ConfEntry | null {
  return conf?.entries.find((e) => e.name === name) ?? null;
}

export function sourceOf(conf: QemuConf, e: ConfEntry): string {
  return `${conf.path}:${e.line} ${e.text}`;
}

/** virConfGetValueString: a string, or an error naming the line. */
export function confString(conf: QemuConf | null, name: string): { value: string; source: string } | null {
  const e = confEntry(conf, name);
  if (!e) return null;
  if (e.value.kind !== 'string') throw new ConfError(`${conf!.path}:${e.line}: ${name} must be a string`);
  return { value: e.value.value, source: sourceOf(conf!, e) };
}

/** virConfGetValueBool: only the numbers 0 and 1. */
export function confBool(conf: QemuConf | null, name: string): { value: boolean; source: string } | null {
  const e = confEntry(conf, name);
  if (!e) return null;
  if (e.value.kind !== 'number' || (e.value.value !== 0 && e.value.value !== 1)) {
    throw new ConfError(`${conf!.path}:${e.line}: ${name} must be 0 or 1`);
  }
  return { value: e.value.value === 1, source: sourceOf(conf!, e) };
}

/** virConfGetValueStringList with compatString: a list of strings, or one string. */
export function confStringList(conf: QemuConf | null, name: string): { value: string[]; source: string } | null {
  const e = confEntry(conf, name);
  if (!e) return null;
  const v = e.value;
  if (v.kind === 'string') return { value: [v.value], source: sourceOf(conf!, e) };
  if (v.kind === 'list' && v.value.every((x) => x.kind === 'string')) {
    return { value: v.value.map((x) => x.value as string), source: sourceOf(conf!, e) };
  }
  throw new ConfError(`${conf!.path}:${e.line}: ${name} must be a string or a list of strings`);
}
