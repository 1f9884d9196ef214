// Scan folders: every file read once (images found by their headers, not their names), then the
// references between them turned into a forest: tops, shared bases, data files, orphans, chains.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChainNode, ProblemCode } from '../../shared/model.js';
import type { ScanResult, ScannedChain, ScannedFile } from '../../shared/scan.js';
import { childPending, topPending, visit } from './chain.js';
import type { ChildName } from './formats/types.js';
import { resolveFile } from './open.js';

/** Folders deeper than this below a scanned root are not entered. */
const MAX_FOLDER_DEPTH = 32;
/** A scan stops listing after this many entries (a safety net against runaway trees). */
const MAX_ENTRIES = 2_000_000;

/** Problems that make a chain unusable by qemu/libvirt, so the chain counts as broken. */
const BREAKING: ReadonlySet<ProblemCode> = new Set([
  'missing', 'unreadable', 'loop', 'too-deep', 'not-regular', 'device', 'unsafe-path', 'invalid-header',
  'unsupported-feature', 'no-backing-format', 'bad-name',
]);

export interface ScanOptions {
  /** Called now and then with the files read so far; return false to cancel. */
  progress?: (done: number, total: number) => boolean | void;
}

export class ScanCancelled extends Error {}

interface Entry {
  file: ScannedFile;
  /** The path it was found or named by: relative names join to this, as qemu and libvirt do. */
  joinedFrom: string;
  backing: ChildName | null;
  dataFile: ChildName | null;
}

/** Every regular file (or symlink to one) below the roots, without entering symlinked folders. */
export function listFiles(roots: string[]): string[] {
  const out: string[] = [];
  const stack: Array<[string, number]> = roots.map((r) => [path.resolve(r), 0]);
  let seen = 0;
  while (stack.length) {
    const [dir, depth] = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return out;
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (depth < MAX_FOLDER_DEPTH) stack.push([p, depth + 1]);
      } else if (e.isFile() || e.isSymbolicLink()) {
        out.push(p);
      }
    }
  }
  return out.sort();
}

function toScanned(node: ChainNode, external: boolean): ScannedFile {
  return {
    path: node.path,
    format: node.format,
    external,
    isImage: node.header !== null && node.format !== 'raw' && node.format !== 'iso',
    virtualSize: node.header?.virtualSize ?? null,
    size: node.stat?.size ?? null,
    allocated: node.stat?.allocated ?? null,
    owner: node.owner,
    selinux: node.selinux,
    remembered: node.remembered,
    backing: null,
    dataFile: null,
    usedBy: [],
    problems: node.problems,
  };
}

export function scan(roots: string[], opts: ScanOptions = {}): ScanResult {
  const names = listFiles(roots);
  const byPath = new Map<string, Entry>();
  const order: Entry[] = [];

  const dirs = new Map<string, string>();
  const read = (p: ReturnType<typeof topPending>, external: boolean): Entry | null => {
    const { node, parsed } = visit(p, { seen: new Map(), dirs });
    if (node.stat === null && !external) return null; // gone since it was listed
    const existing = byPath.get(node.path);
    if (existing) return existing;
    const entry: Entry = { file: toScanned(node, external), joinedFrom: p.joined, backing: parsed?.backing ?? null, dataFile: parsed?.dataFile ?? null };
    byPath.set(node.path, entry);
    order.push(entry);
    return entry;
  };

  for (let i = 0; i < names.length; i++) {
    read(topPending(names[i]!), false);
    if (opts.progress && i % 256 === 0 && opts.progress(i, names.length) === false) throw new ScanCancelled('scan cancelled');
  }

  // Resolve references; files named from outside the roots are read too (they are part of chains).
  for (let i = 0; i < order.length; i++) {
    const entry = order[i]!;
    const pending = topPending(entry.joinedFrom);
    for (const role of ['backing', 'dataFile'] as const) {
      const child = entry[role];
      if (!child) continue;
      const cp = childPending(entry.file, pending, child, role === 'backing' ? 'backing' : 'data-file');
      if (!cp) continue;
      const target = cp.nameInfo?.kind === 'file' ? resolveTarget(cp.joined, dirs) : null;
      let ref = target ? byPath.get(target) : undefined;
      if (!ref && target) ref = read(cp, true) ?? undefined;
      entry.file[role] = ref ? ref.file.path : cp.name;
      if (ref) {
        ref.file.usedBy.push(entry.file.path);
        continue;
      }
      const kind = cp.nameInfo?.kind ?? 'file';
      const what = role === 'backing' ? 'backing file' : 'data file';
      entry.file.problems.push(kind === 'file'
        ? { code: 'missing', message: `${what} ${cp.joined} (named '${cp.name}' in ${entry.file.path}) does not exist` }
        : { code: kind, message: `${what} '${cp.name}' of ${entry.file.path} is a ${kind} name; it is never opened` });
    }
  }
  return summarize(roots, order.map((e) => e.file));
}

function resolveTarget(joined: string, dirs: Map<string, string>): string | null {
  try {
    return resolveFile(joined, dirs).real;
  } catch {
    return null;
  }
}

function summarize(roots: string[], files: ScannedFile[]): ScanResult {
  const by = new Map(files.map((f) => [f.path, f]));
  const dataFiles = new Set(files.filter((f) => f.dataFile && by.has(f.dataFile)).map((f) => f.dataFile!));
  const backingUsers = new Map<string, number>();
  for (const f of files) if (f.backing && by.has(f.backing)) backingUsers.set(f.backing, (backingUsers.get(f.backing) ?? 0) + 1);

  const tops = files.filter((f) => f.isImage && f.usedBy.length === 0).map((f) => f.path);
  const sharedBases = [...backingUsers].filter(([, n]) => n >= 2).map(([p]) => p).sort();
  const orphans = files.filter((f) => !f.isImage && f.usedBy.length === 0 && !f.external).map((f) => f.path);

  const chains: ScannedChain[] = tops.map((top) => {
    const list: string[] = [];
    const visited = new Set<string>();
    let allocated = 0;
    let broken = false;
    for (let cur: ScannedFile | undefined = by.get(top); cur && !visited.has(cur.path); cur = cur.backing ? by.get(cur.backing) : undefined) {
      visited.add(cur.path);
      list.push(cur.path);
      allocated += cur.allocated ?? 0;
      broken ||= cur.problems.some((p) => BREAKING.has(p.code)) || (cur.backing !== null && !by.has(cur.backing));
      const data = cur.dataFile ? by.get(cur.dataFile) : undefined;
      if (data) {
        list.push(data.path);
        allocated += data.allocated ?? 0;
        broken ||= data.problems.some((p) => BREAKING.has(p.code));
      }
    }
    return { top, files: list, allocated, broken };
  });

  return {
    roots: roots.map((r) => path.resolve(r)),
    files,
    tops,
    sharedBases,
    orphans,
    chains,
    summary: {
      files: files.filter((f) => !f.external).length,
      tops: tops.length,
      sharedBases: sharedBases.length,
      dataFiles: dataFiles.size,
      orphans: orphans.length,
      broken: chains.filter((c) => c.broken).length,
      problems: files.reduce((n, f) => n + f.problems.length, 0),
    },
  };
}
