// `qemu-img info --backing-chain --output=json`, reproduced: qemu's names (plain string joins,
// followed as typed), qemu's probing (every backing without a recorded format is probed), and
// qemu's loop check (exact filename strings). Unlike qemu-img it never blocks on a FIFO and
// stops on an inode loop instead of recursing until the name is too long.
import * as fs from 'node:fs';
import type { FormatName } from '../../../shared/model.js';
import { cString } from './formats/common/text.js';
import { formatModule, probeFormat } from './formats/index.js';
import type { FormatModule, ParsedImage } from './formats/types.js';
import { protocolOf, qemuJoin } from './names.js';
import { FileChangedError, fileType, openNamed, refuseType, resolveFile, withImage } from './open.js';
import { HeaderError } from './source.js';
import { errorText } from '../../../shared/error-text.js';

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

function entryFor(filename: string, mod: FormatModule, st: fs.Stats, parsed: ParsedImage): QemuImageInfo {
  const h = parsed.header;
  const e: QemuImageInfo = {};
  const backing = parsed.backing ? cString(parsed.backing.raw).toString('utf8') : '';
  if (backing && parsed.backing?.format) e['backing-filename-format'] = parsed.backing.format;
  // qemu prints a format's snapshot list here, before the sizes (the later merge keeps its place).
  if (parsed.qemuExtra?.snapshots !== undefined) e['snapshots'] = parsed.qemuExtra.snapshots;
  e['virtual-size'] = h.virtualSize;
  e['filename'] = filename;
  if (h.clusterSize) e['cluster-size'] = h.clusterSize;
  e['format'] = mod.qemuDriver ?? mod.name;
  e['actual-size'] = actualSize(filename, st, mod, parsed);
  if (h.encrypted) e['encrypted'] = true;
  const specific = mod.specificInfo ? mod.specificInfo(parsed, filename) : h.formatSpecific;
  if (specific != null) e['format-specific'] = specific;
  if (backing) {
    e['full-backing-filename'] = qemuJoin(filename, backing);
    e['backing-filename'] = backing;
  }
  e['dirty-flag'] = h.dirty;
  return Object.assign(e, parsed.qemuExtra ?? {});
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

export function qemuInfoChain(top: string, opts: { format?: FormatName; maxDepth?: number } = {}): QemuChainResult {
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
    const entry = entryFor(current, mod, st, parsed);
    entries.push(entry);
    filename = typeof entry['full-backing-filename'] === 'string' ? entry['full-backing-filename'] : null;
    format = parsed.backing?.format ?? null;
  }
  return { entries, error: null };
}
