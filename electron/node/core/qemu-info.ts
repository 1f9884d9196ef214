// `qemu-img info --backing-chain --output=json`, reproduced: qemu's names (plain string joins,
// followed as typed), qemu's probing (every backing without a recorded format is probed), and
// qemu's loop check (exact filename strings). Unlike qemu-img it never blocks on a FIFO and
// stops on an inode loop instead of recursing until the name is too long.
import * as fs from 'node:fs';
import type { FormatName } from '../../../shared/model.js';
import { qemuText } from './formats/common/text.js';
import { formatModule, probeFormat } from './formats/index.js';
import type { FormatModule, ParsedImage } from './formats/types.js';
import { protocolOf, qemuJoin } from './names.js';
import { FileChangedError, fileType, openNamed, refuseType, resolveFile, withImage } from './open.js';
import { HeaderError } from './source.js';
import { errorText } from '../../../shared/error-text.js';
import { atLeast, selectQemuVersion, type QemuVersion } from './qemu-version.js';
import { qemuKeyOrder } from './qemu-key-order.js';

export type QemuImageInfo = Record<string, unknown>;

export interface QemuChainResult {
  entries: QemuImageInfo[];
  /** qemu-img's error line (without the program name) when the chain could not be read whole. */
  error: string | null;
}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'ENAMETOOLONG') return 'File name too long';
  if (code === 'ELOOP') return 'Too many levels of symbolic links';
  return errorText(e);
}

/** Allocated bytes qemu reports: the file's own blocks, plus those of the files opened with it. */
function actualSize(filename: string, st: fs.Stats, mod: FormatModule, parsed: ParsedImage): number {
  let total = st.blocks * 512;
  for (const extent of (mod.extentNames?.(parsed) ?? []).map((n) => qemuJoin(filename, n))) {
    try {
      const est = fs.statSync(extent);
      if (est.isFile() && !(est.dev === st.dev && est.ino === st.ino)) total += est.blocks * 512;
    } catch {
      // qemu fails to open an image with a missing extent; parse already said so where it matters.
    }
  }
  return total;
}

/** bdrv_getlength() of a file node: the length in whole 512-byte sectors. */
const sectorLength = (size: number): number => Math.ceil(size / 512) * 512;

/**
 * What qemu prints for a node of its `file` driver (the protocol layer under every image in
 * qemu 8 and later, or an image opened with format `file`).
 */
function fileEntry(filename: string, st: fs.Stats, v: QemuVersion): QemuImageInfo {
  const e: QemuImageInfo = {};
  e['virtual-size'] = sectorLength(st.size);
  e['filename'] = filename;
  e['format'] = 'file';
  e['actual-size'] = st.blocks * 512;
  if (atLeast(v, 8)) e['format-specific'] = { type: 'file', data: {} };
  e['dirty-flag'] = false;
  if (atLeast(v, 8)) e['children'] = [];
  return e;
}

/**
 * qemu 8's `children`: the image's own file, and a vmdk's extent files, newest attached first
 * (qemu inserts each child at the head of its list). A data file is not listed.
 */
function childrenOf(filename: string, st: fs.Stats, mod: FormatModule, parsed: ParsedImage, v: QemuVersion): QemuImageInfo[] {
  const children: QemuImageInfo[] = [{ name: 'file', info: fileEntry(filename, st, v) }];
  (mod.extentNames?.(parsed) ?? []).forEach((name, i) => {
    const extent = qemuJoin(filename, name);
    try {
      children.unshift({ name: `extents.${i}`, info: fileEntry(extent, fs.statSync(extent), v) });
    } catch {
      // Not reached for an image qemu opens: a missing extent fails the open first.
    }
  });
  return children;
}

/** qemu 9 and later print whether a LUKS header is detached (never, for what qemu-img opens). */
function withDetachedHeader(luksData: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(luksData)) {
    out[k] = val;
    if (k === 'ivgen-alg') out['detached-header'] = false;
  }
  return out;
}

/** The format-specific object as the given qemu version prints it. */
function specificFor(specific: unknown, v: QemuVersion): unknown {
  if (!atLeast(v, 9) || specific === null || typeof specific !== 'object') return specific;
  const s = specific as { type?: unknown; data?: Record<string, unknown> };
  if (s.type === 'luks' && s.data) return { ...s, data: withDetachedHeader(s.data) };
  const encrypt = s.data?.encrypt as Record<string, unknown> | undefined;
  if (s.type === 'qcow2' && encrypt?.format === 'luks') {
    return { ...s, data: { ...s.data, encrypt: withDetachedHeader(encrypt) } };
  }
  return specific;
}

/** Far deeper than any object qemu-img prints; stops a runaway structure. */
const MAX_DEPTH = 64;

/**
 * Sizes beyond 2^53 - 1 are decimal text in the model (JSON-safe for the app); qemu prints every
 * `virtual-size` (the image's, a vmdk extent's) as an integer, so here they become bigints for
 * exactJson.
 */
function withExactSizes(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('qemu-img JSON nested too deep');
  if (Array.isArray(value)) return value.map((x) => withExactSizes(x, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) {
    out[k] = k === 'virtual-size' && typeof x === 'string' && /^-?\d+$/.test(x) ? BigInt(x) : withExactSizes(x, depth + 1);
  }
  return out;
}

function entryFor(filename: string, mod: FormatModule, st: fs.Stats, parsed: ParsedImage, v: QemuVersion): QemuImageInfo {
  const h = parsed.header;
  const e: QemuImageInfo = {};
  // qemu's JSON writer decodes names as modified UTF-8; the names are opened as their bytes.
  const backing = parsed.backing ? qemuText(parsed.backing.raw) : '';
  if (backing && parsed.backing?.format) e['backing-filename-format'] = parsed.backing.format;
  // qemu prints a format's snapshot list here, before the sizes (the later merge keeps its place).
  if (parsed.qemuExtra?.snapshots !== undefined) e['snapshots'] = parsed.qemuExtra.snapshots;
  e['virtual-size'] = h.virtualSize;
  e['filename'] = filename;
  if (h.clusterSize) e['cluster-size'] = h.clusterSize;
  e['format'] = mod.qemuDriver ?? mod.name;
  e['actual-size'] = actualSize(filename, st, mod, parsed);
  if (h.encrypted) e['encrypted'] = true;
  const specific = specificFor(mod.specificInfo ? mod.specificInfo(parsed, filename) : h.formatSpecific, v);
  if (specific != null) e['format-specific'] = specific;
  if (backing) {
    e['full-backing-filename'] = qemuJoin(filename, backing);
    e['backing-filename'] = backing;
  }
  e['dirty-flag'] = h.dirty;
  Object.assign(e, parsed.qemuExtra ?? {});
  // Last, as in BlockGraphInfo: it shares a hash bucket with backing-filename-format.
  if (atLeast(v, 8)) e['children'] = childrenOf(filename, st, mod, parsed, v);
  return e;
}

/** The files the image names opened as qemu opens them (names joined to the image's). */
function withExtents(filename: string, mod: FormatModule, parsed: ParsedImage): ParsedImage {
  if (!mod.openExtents) return parsed;
  const open: Array<() => void> = [];
  try {
    return mod.openExtents(parsed, (name) => {
      const f = openNamed(qemuJoin(filename, name));
      if (!f) return null;
      open.push(f.close);
      return f.src;
    });
  } finally {
    for (const close of open) close();
  }
}

export function qemuInfoChain(
  top: string,
  opts: { format?: FormatName; maxDepth?: number; qemuVersion?: QemuVersion; exactIntegers?: boolean } = {},
): QemuChainResult {
  // Unless told, the qemu-img that would run here: the one a user compares with.
  const v = opts.qemuVersion ?? selectQemuVersion(undefined);
  const entries: QemuImageInfo[] = [];
  const names = new Set<string>();
  const inodes = new Map<string, string>();
  const dirs = new Map<string, string>();
  const maxDepth = opts.maxDepth ?? 10_000;
  let filename: string | null = top;
  let format: string | null = opts.format ?? null;
  const fail = (error: string): QemuChainResult => ({ entries, error });

  while (filename !== null) {
    if (names.has(filename)) return fail(`Backing file '${filename}' creates an infinite loop.`);
    if (entries.length >= maxDepth) return fail(`Could not open '${filename}': the chain is deeper than ${maxDepth} images`);
    names.add(filename);
    if (protocolOf(filename) !== null) {
      return fail(`Could not open '${filename}': protocol names are not opened by diskchain`);
    }
    let real: string;
    let st: fs.Stats;
    try {
      ({ real, st } = resolveFile(filename, dirs));
    } catch (e) {
      return fail(`Could not open '${filename}': Could not open '${filename}': ${describe(e)}`);
    }
    const refused = refuseType(fileType(st));
    if (refused) return fail(`Could not open '${filename}': it is ${refused.what}; diskchain never opens one`);
    const key = `${st.dev}:${st.ino}`;
    const again = inodes.get(key);
    if (again !== undefined) return fail(`Backing file '${filename}' is '${again}' again (same device and inode): the chain loops`);
    inodes.set(key, filename);

    const current: string = filename;
    if (format === 'file') {
      // A backing format of `file`: qemu opens the file node itself, which names no backing.
      entries.push(fileEntry(current, st, v));
      break;
    }
    let parsed: ParsedImage;
    let mod: FormatModule;
    try {
      [mod, parsed] = withImage(real, st, (src) => {
        const name = format ?? probeFormat(src);
        const m = formatModule(name);
        if (!m) throw new HeaderError(`Unknown driver '${name}'`);
        return [m, withExtents(current, m, m.parse(src))] as const;
      });
    } catch (e) {
      if (e instanceof HeaderError || e instanceof FileChangedError) return fail(`Could not open '${current}': ${e.message}`);
      return fail(`Could not open '${current}': Could not open '${current}': ${describe(e)}`);
    }
    const entry = entryFor(current, mod, st, parsed, v);
    entries.push(entry);
    filename = typeof entry['full-backing-filename'] === 'string' ? entry['full-backing-filename'] : null;
    // The format qemu prints is the one it opens the backing with (a vmdk's parent is a vmdk).
    const named = entry['backing-filename-format'];
    format = typeof named === 'string' ? named : (parsed.backing?.format ?? null);
  }
  const exact = opts.exactIntegers ? withExactSizes : (e: unknown) => e;
  return { entries: entries.map((e) => exact(qemuKeyOrder(e)) as QemuImageInfo), error: null };
}
