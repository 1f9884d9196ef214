// `qemu-img info --backing-chain --output=json`, reproduced: qemu's names (plain byte joins,
// opened by their bytes, printed as its JSON writer decodes them), qemu's probing (every backing
// without a recorded format is probed), and qemu's loop check (exact name bytes). Unlike qemu-img it never blocks on a FIFO and
// stops on an inode loop instead of recursing until the name is too long.
import * as fs from 'node:fs';
import type { FormatName } from '../../../shared/model.js';
import { cString, qemuText } from './formats/common/text.js';
import { formatModule, probeFormat } from './formats/index.js';
import type { FormatModule, ParsedImage } from './formats/types.js';
import { protocolOf, qemuJoin } from './names.js';
import { FileChangedError, fileType, fsPath, openNamed, refuseType, resolveFile, withImage } from './open.js';
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

/**
 * qemu's path_combine() on bytes: `name` (a C string) joined to the folder of `base`. latin1 keeps
 * one character per byte, so qemuJoin's text rules apply to the bytes unchanged.
 */
function joinBytes(base: Buffer, name: Buffer): Buffer {
  return Buffer.from(qemuJoin(base.toString('latin1'), cString(name).toString('latin1')), 'latin1');
}

/** Allocated bytes qemu reports: the file's own blocks, plus those of the files opened with it. */
function actualSize(st: fs.Stats, extents: Buffer[]): number {
  let total = st.blocks * 512;
  for (const extent of extents) {
    try {
      const est = fs.statSync(fsPath(extent));
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
function childrenOf(filename: string, st: fs.Stats, extents: Buffer[], v: QemuVersion): QemuImageInfo[] {
  const children: QemuImageInfo[] = [{ name: 'file', info: fileEntry(filename, st, v) }];
  extents.forEach((extent, i) => {
    try {
      children.unshift({ name: `extents.${i}`, info: fileEntry(qemuText(extent), fs.statSync(fsPath(extent)), v) });
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

/** An image as qemu names it: the bytes it opens, and the text its JSON writer prints for them. */
interface Named {
  raw: Buffer;
  text: string;
}

const named = (raw: Buffer): Named => ({ raw, text: qemuText(raw) });

function entryFor(image: Named, mod: FormatModule, st: fs.Stats, opened: Opened, v: QemuVersion): QemuImageInfo {
  const { parsed, extents } = opened;
  const filename = image.text;
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
  e['actual-size'] = actualSize(st, extents);
  if (h.encrypted) e['encrypted'] = true;
  const specific = specificFor(mod.specificInfo ? mod.specificInfo(parsed, filename) : h.formatSpecific, v);
  if (specific != null) e['format-specific'] = specific;
  if (backing && parsed.backing) {
    e['full-backing-filename'] = qemuText(joinBytes(image.raw, parsed.backing.raw));
    e['backing-filename'] = backing;
  }
  e['dirty-flag'] = h.dirty;
  Object.assign(e, parsed.qemuExtra ?? {});
  // Last, as in BlockGraphInfo: it shares a hash bucket with backing-filename-format.
  if (atLeast(v, 8)) e['children'] = childrenOf(filename, st, extents, v);
  return e;
}

/** A parsed image and the joined names of the extent files opened with it, one per reference. */
interface Opened {
  parsed: ParsedImage;
  extents: Buffer[];
}

/** The files the image names opened as qemu opens them (their bytes joined to the image's). */
function withExtents(image: Named, mod: FormatModule, parsed: ParsedImage): Opened {
  const extents: Buffer[] = [];
  if (!mod.openExtents) return { parsed, extents };
  const open: Array<() => void> = [];
  try {
    const refined = mod.openExtents(parsed, (_name, raw) => {
      const joined = joinBytes(image.raw, raw);
      extents.push(joined);
      const f = openNamed(fsPath(joined));
      if (!f) return null;
      open.push(f.close);
      return f.src;
    });
    return { parsed: refined, extents };
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
  // qemu's loop check compares the names' bytes (latin1: one character per byte).
  const names = new Set<string>();
  const inodes = new Map<string, string>();
  const dirs = new Map<string, string>();
  const maxDepth = opts.maxDepth ?? 10_000;
  let image: Named | null = named(Buffer.from(top));
  let format: string | null = opts.format ?? null;
  const fail = (error: string): QemuChainResult => ({ entries, error });

  while (image !== null) {
    const current: Named = image;
    const filename = current.text;
    const key = current.raw.toString('latin1');
    if (names.has(key)) return fail(`Backing file '${filename}' creates an infinite loop.`);
    if (entries.length >= maxDepth) return fail(`Could not open '${filename}': the chain is deeper than ${maxDepth} images`);
    names.add(key);
    if (protocolOf(filename) !== null) {
      return fail(`Could not open '${filename}': protocol names are not opened by diskchain`);
    }
    let resolved: ReturnType<typeof resolveFile>;
    try {
      resolved = resolveFile(fsPath(current.raw), dirs);
    } catch (e) {
      return fail(`Could not open '${filename}': Could not open '${filename}': ${describe(e)}`);
    }
    const { real, st } = resolved;
    const refused = refuseType(fileType(st));
    if (refused) return fail(`Could not open '${filename}': it is ${refused.what}; diskchain never opens one`);
    const inode = `${st.dev}:${st.ino}`;
    const again = inodes.get(inode);
    if (again !== undefined) return fail(`Backing file '${filename}' is '${again}' again (same device and inode): the chain loops`);
    inodes.set(inode, filename);

    if (format === 'file') {
      // A backing format of `file`: qemu opens the file node itself, which names no backing.
      entries.push(fileEntry(filename, st, v));
      break;
    }
    let opened: Opened;
    let mod: FormatModule;
    try {
      [mod, opened] = withImage(real, st, (src) => {
        const name = format ?? probeFormat(src);
        const m = formatModule(name);
        if (!m) throw new HeaderError(`Unknown driver '${name}'`);
        return [m, withExtents(current, m, m.parse(src))] as const;
      });
    } catch (e) {
      if (e instanceof HeaderError || e instanceof FileChangedError) return fail(`Could not open '${filename}': ${e.message}`);
      return fail(`Could not open '${filename}': Could not open '${filename}': ${describe(e)}`);
    }
    const entry = entryFor(current, mod, st, opened, v);
    entries.push(entry);
    const backing = opened.parsed.backing;
    image = typeof entry['full-backing-filename'] === 'string' && backing ? named(joinBytes(current.raw, backing.raw)) : null;
    // The format qemu prints is the one it opens the backing with (a vmdk's parent is a vmdk).
    const recorded = entry['backing-filename-format'];
    format = typeof recorded === 'string' ? recorded : (backing?.format ?? null);
  }
  const exact = opts.exactIntegers ? withExactSizes : (e: unknown) => e;
  return { entries: entries.map((e) => exact(qemuKeyOrder(e)) as QemuImageInfo), error: null };
}
