// From one path to the disk's whole chain: the image, its backing images down to the base,
// and each image's data file, resolved as libvirt does. Iterative, bounded, never blocking:
// only regular files are opened, and only with O_NOFOLLOW|O_NONBLOCK after an lstat.
import * as path from 'node:path';
import type { ChainNode, FormatName, NameInfo, Problem, Role } from '../../../shared/model.js';
import { readLabels, readLabelsOf, ownerOf, toFileStat, type Labels } from './fileinfo.js';
import { cString } from './formats/common/text.js';
import { formatModule, probeFormat } from './formats/index.js';
import type { ChildName, ParsedImage } from './formats/types.js';
import { describeName, isUnsafePath } from './names.js';
import { holdFile, readHeldFile, refuseType, releaseFile, type HeldFile } from './open.js';
import { keepSubtrees, reuseSubtree, subtreeKey, type SubtreeMemo } from './chain-memo.js';
import { HeaderError, type ImageSource } from './source.js';
import { errorText } from '../../../shared/error-text.js';

/** libvirt refuses chains longer than this. */
export const LIBVIRT_MAX_DEPTH = 200;
/** We stop walking here: deeper is never legitimate and keeps output bounded. */
export const HARD_MAX_DEPTH = 10_000;
/** Extent files one walk lists in all: a chain of hostile descriptors stays cheap to inspect. */
export const MAX_CHAIN_EXTENTS = 4096;

export interface InspectOptions {
  /** The top image's format, as a domain XML or `-f` states it; probed (as qemu-img does) when absent. */
  format?: FormatName;
  /** Stop after this many layers (default HARD_MAX_DEPTH). */
  maxDepth?: number;
  /**
   * What earlier walks of one batch read already (a plan of 9,000 overlays on 1,000 shared bases
   * reads each base once): keyed by the file's identity and times as lstat saw them, so a file
   * changed since (contents move mtime, labels move ctime) is read again.
   */
  cache?: InspectCache;
}

export interface InspectCache {
  headers: HeaderCache;
  labels: Map<string, Labels>;
  /** Folder → its real path (resolveFile's), shared by the batch's walks. */
  dirs: Map<string, string>;
  /** Backing subtrees walked once and linked into every chain naming them alike (the nodes are shared: read-only). */
  subtrees?: SubtreeMemo;
  /** Leave the nodes' labels unread (a planner captures each file's state itself, once). */
  noLabels?: boolean;
}

/** A cache for one batch of inspections. */
export function inspectCache(): InspectCache {
  return { headers: new Map(), labels: new Map(), dirs: new Map() };
}

/** What reading one header gave: the format it was read as and the parse, or the refusal. */
export type HeaderRead = { format: string; probed: boolean; parsed: ParsedImage } | HeaderError;
export type HeaderCache = Map<string, HeaderRead>;

export interface Pending {
  name: string;
  role: Role;
  depth: number;
  /** libvirt's joined path (absolute for the top). */
  joined: string;
  /** qemu's filename for this node (the top as typed). */
  qemuPath: string;
  nameInfo: NameInfo | null;
  /** The format to read it with, and where that came from; null: probe it as libvirt would. */
  format: { name: string; source: ChainNode['formatSource'] } | null;
  parent: ChainNode | null;
  /** A vmdk extent file of `parent` (in `parent`'s role and depth). */
  extent?: boolean;
}

/** What a visited file yields besides its node: what to walk to next. */
/** State shared by the visits of one walk. */
export interface VisitContext {
  /** device:inode → real path of every file visited in this chain (loop detection). */
  seen: Map<string, string>;
  /** Folder → its real path (see resolveFile). */
  dirs: Map<string, string>;
  cache?: InspectCache;
}

export interface Visited {
  node: ChainNode;
  parsed: ParsedImage | null;
}

/** A node for `p`; its path is set when the file is resolved (or found not to be). */
function emptyNode(p: Pending): ChainNode {
  return {
    path: p.name,
    name: p.name,
    role: p.role,
    format: null,
    formatSource: null,
    depth: p.depth,
    nameInfo: p.nameInfo,
    stat: null,
    owner: null,
    selinux: null,
    remembered: { dac: null, selinux: null },
    header: null,
    backing: null,
    dataFile: null,
    problems: [],
  };
}

function what(p: Pending): string {
  if (p.role === 'image' && !p.extent) return `image ${p.name}`;
  const parent = p.parent ? ` (named '${p.name}' in ${p.parent.path})` : '';
  const kind = p.extent ? 'extent' : p.role === 'data-file' ? 'data file' : 'backing file';
  return `${kind} ${p.nameInfo?.joined ?? p.name}${parent}`;
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code ? code : errorText(e);
}

/** What to visit for a top image named `topPath` (as typed: relative to the working folder). */
export function topPending(topPath: string, format?: FormatName): Pending {
  return {
    name: topPath,
    role: 'image',
    depth: 0,
    joined: path.isAbsolute(topPath) ? topPath : `${process.cwd()}/${topPath}`,
    qemuPath: topPath,
    nameInfo: null,
    format: format ? { name: format, source: 'given' } : null,
    parent: null,
  };
}

/** Inspect a chain. Never throws for anything a header or the file system does; problems are in the nodes. */
export function inspect(topPath: string, opts: InspectOptions = {}): ChainNode {
  const maxDepth = Math.min(opts.maxDepth ?? HARD_MAX_DEPTH, HARD_MAX_DEPTH);
  const ctx: VisitContext = { seen: new Map(), dirs: opts.cache?.dirs ?? new Map(), ...(opts.cache ? { cache: opts.cache } : {}) };
  let root: ChainNode | null = null;
  let next: Pending | null = topPending(topPath, opts.format);
  let extentBudget = MAX_CHAIN_EXTENTS;
  const memo = opts.cache?.subtrees;
  const walked: { key: string; node: ChainNode }[] = [];

  while (next) {
    const p: Pending = next;
    next = null;
    const key = memo && p.role === 'backing' && !p.extent ? subtreeKey(p, maxDepth) : null;
    const shared = key === null ? null : reuseSubtree(memo!, key, ctx.seen);
    if (shared) {
      p.parent!.backing = shared;
      break;
    }
    const { node, parsed } = visit(p, ctx);
    if (key !== null) walked.push({ key, node });
    if (p.parent) p.parent.backing = node;
    root ??= node;
    if (p.depth === LIBVIRT_MAX_DEPTH) {
      node.problems.push({
        code: 'too-deep',
        message: `${what(p)} is layer ${p.depth + 1}; libvirt refuses chains of more than ${LIBVIRT_MAX_DEPTH} images`,
      });
    }
    if (!parsed) break;

    if (parsed.dataFile) node.dataFile = visitDataFile(node, p, parsed.dataFile, ctx);
    const extentFiles = node.format ? formatModule(node.format)?.extentFiles?.(parsed) : undefined;
    if (extentFiles) extentBudget -= visitExtents(node, p, extentFiles, ctx, extentBudget);
    if (parsed.backing) {
      const child = childPending(node, p, parsed.backing, 'backing');
      if (!child) continue;
      child.parent = node;
      if (child.depth >= maxDepth) {
        node.problems.push({
          code: 'too-deep',
          message: `stopped after ${maxDepth} layers: ${node.path} still names a backing file '${child.name}'`,
        });
        break;
      }
      next = child;
    }
  }
  if (memo) keepSubtrees(memo, walked);
  return root!;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Turn a name from `node`'s header into what to visit; null when the name cannot be used at all. */
export function childPending(
  node: Pick<ChainNode, 'path' | 'problems'>,
  p: Pending,
  child: ChildName,
  role: Role,
  extent = false,
): Pending | null {
  const bytes = cString(child.raw);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    const kind = extent ? 'vmdk extent' : role === 'backing' ? 'backing' : 'data';
    node.problems.push({
      code: 'bad-name',
      message: `${node.path} names a ${kind} file that is not valid UTF-8 (hex ${child.raw.toString('hex')}); not followed`,
    });
    return null;
  }
  if (text === '') return null;
  const nameInfo = describeName(child.raw, text, p.joined, p.qemuPath, !extent);
  let format: Pending['format'] = null;
  if (child.format) format = { name: child.format, source: 'header' };
  const depth = role === 'data-file' || extent ? p.depth : p.depth + 1;
  return {
    name: text,
    role,
    depth,
    joined: nameInfo.joined,
    qemuPath: nameInfo.qemuPath,
    nameInfo,
    format,
    parent: null,
    ...(extent ? { extent } : {}),
  };
}

/**
 * The extent files an image names (a vmdk descriptor's): qemu opens each with the image (names
 * relative to the image's folder), so they are part of it, in its role. Looked at like data
 * files, never parsed. Returns how many files were visited, at most `budget`.
 */
function visitExtents(node: ChainNode, p: Pending, names: Buffer[], ctx: VisitContext, budget: number): number {
  if (names.length === 0) return 0;
  if (names.length > budget) {
    node.problems.push({
      code: 'too-deep',
      message: `${what(p)} names ${names.length} extent files, more than the ${MAX_CHAIN_EXTENTS} one chain may list: its extents are not followed`,
    });
    return 0;
  }
  const extents: ChainNode[] = [];
  const listed = new Set<string>();
  for (const raw of names) {
    const ep = childPending(node, p, { raw, format: null }, p.role, true);
    if (!ep) continue;
    ep.parent = node;
    const { node: en } = visit(ep, ctx, false);
    // Two names for one file (`a.raw`, `./a.raw`): one file to label, not a loop.
    if (listed.has(en.path) && en.problems.every((x) => x.code === 'loop')) continue;
    listed.add(en.path);
    en.format = null;
    en.formatSource = null;
    extents.push(en);
  }
  if (extents.length) node.extents = extents;
  return names.length;
}

function visitDataFile(node: ChainNode, p: Pending, child: ChildName, ctx: VisitContext): ChainNode | null {
  const dp = childPending(node, p, child, 'data-file');
  if (!dp) return null;
  dp.parent = node;
  // qemu 7.2 opens a relative data file from its working folder, not the image's.
  if (dp.nameInfo) dp.nameInfo.qemuPath = dp.name;
  dp.format = { name: 'raw', source: 'header' };
  const { node: dn } = visit(dp, ctx, false);
  if (dp.nameInfo?.kind === 'file' && !dp.name.startsWith('/')) {
    dn.problems.push({
      code: 'data-file-relative',
      message: `data file name '${dp.name}' in ${node.path} is relative: libvirt looks for it in ${path.dirname(dp.joined)}, qemu 7.2 in its own working folder`,
    });
  }
  return dn;
}

/** `node` with one more problem, and nothing to walk to from it. */
function failed(node: ChainNode, code: Problem['code'], message: string): Visited {
  node.problems.push({ code, message });
  return { node, parsed: null };
}

/** Visit one file: stat, owner, labels, and (when it is safe to) its header. */
export function visit(p: Pending, ctx: VisitContext, parse = true): Visited {
  const node = emptyNode(p);
  if (p.nameInfo && p.nameInfo.kind !== 'file') {
    // Its format is what the parent's header states (qemu's protocol nodes are read as that).
    const stated = p.format ? formatModule(p.format.name) : undefined;
    if (stated) {
      node.format = stated.name as ChainNode['format'];
      node.formatSource = p.format!.source;
    }
    const refused = p.nameInfo.sourceError ? ` (libvirt refuses it: ${p.nameInfo.sourceError})` : '';
    return failed(
      node,
      p.nameInfo.kind,
      `${what(p)} is a ${p.nameInfo.kind === 'network' ? 'network' : 'protocol'} name; it is never opened or relabelled${refused}`,
    );
  }

  let file: HeldFile;
  try {
    file = holdFile(p.joined, ctx.dirs);
  } catch (e) {
    node.path = path.resolve(p.joined);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return failed(node, 'missing', `${what(p)} does not exist`);
    if (code === 'ELOOP') return failed(node, 'loop', `${what(p)}: too many levels of symbolic links`);
    return failed(node, 'unreadable', `${what(p)}: cannot resolve (${errnoText(e)})`);
  }
  try {
    return visitHeld(node, p, file, ctx, parse);
  } finally {
    releaseFile(file);
  }
}

/** The rest of visit, on a file resolved and held (which it may reopen for reading). */
function visitHeld(node: ChainNode, p: Pending, file: HeldFile, ctx: VisitContext, parse: boolean): Visited {
  const { real, st } = file;
  node.path = real;
  node.stat = toFileStat(st);
  node.owner = ownerOf(st);
  if (ctx.cache?.noLabels) return checkAndRead(node, p, file, ctx, parse, null);
  const labelKey = ctx.cache ? `${st.dev}:${st.ino}:${st.ctimeMs}` : '';
  const cached = ctx.cache?.labels.get(labelKey);
  let labels = cached;
  // Through the descriptor its header is read from, when it is read (no name looked up again);
  // by the name, never followed, when it is not opened at all.
  const visited = checkAndRead(node, p, file, ctx, parse, labels ? null : (fd) => (labels = readLabelsOf(fd)));
  labels ??= readLabels(real);
  if (!cached) ctx.cache?.labels.set(labelKey, labels);
  node.selinux = labels.selinux;
  node.remembered = labels.remembered;
  return visited;
}

/**
 * Loop and type checks, then the header of a regular file (read from `file`, reopened for
 * reading); `labelsOf` is given the descriptor read, when there is one.
 */
function checkAndRead(
  node: ChainNode,
  p: Pending,
  file: HeldFile,
  ctx: VisitContext,
  parse: boolean,
  labelsOf: ((fd: number) => void) | null,
): Visited {
  const { real, st } = file;
  const key = `${st.dev}:${st.ino}`;
  const earlier = ctx.seen.get(key);
  if (earlier !== undefined) return failed(node, 'loop', `${what(p)} is ${earlier} again (same device and inode): the chain loops`);
  ctx.seen.set(key, real);

  const refused = refuseType(node.stat!.type);
  if (refused) return failed(node, refused.code, `${what(p)} is ${refused.what}, not a regular file; it is never read`);
  if (isUnsafePath(real)) return failed(node, 'unsafe-path', `${what(p)} resolves to ${real}, under /proc, /sys or /dev; it is never read`);
  const slice = p.nameInfo?.source?.slice;
  if (parse && slice) {
    node.problems.push({
      code: 'unsupported-feature',
      message: `${what(p)} is a slice (offset ${slice.offset ?? 0}, size ${slice.size ?? 'to the end'}) of ${real}: its header is not read`,
    });
    parse = false;
  }
  if (!parse) {
    node.format = 'raw';
    node.formatSource = p.format?.source ?? 'header';
    return { node, parsed: null };
  }
  try {
    const headerKey = ctx.cache ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}:${p.format?.name ?? ''}` : '';
    let read = ctx.cache?.headers.get(headerKey);
    if (!read) {
      try {
        read = readHeldFile(file, (src, fd) => {
          labelsOf?.(fd);
          return parseHeader(p.format, src);
        });
      } catch (e) {
        if (!(e instanceof HeaderError)) throw e;
        read = e;
      }
      ctx.cache?.headers.set(headerKey, read);
    }
    if (read instanceof HeaderError) throw read;
    return readHeader(node, p, read);
  } catch (e) {
    if (e instanceof HeaderError) return failed(node, e.code, `${what(p)}: ${e.message}`);
    return failed(node, 'unreadable', `${what(p)}: cannot read (${errnoText(e)})`);
  }
}

/** Read one header: as the stated format, or probed; pure over the bytes (so it can be cached). */
function parseHeader(format: Pending['format'], src: ImageSource): Exclude<HeaderRead, HeaderError> {
  if (format) {
    const mod = formatModule(format.name);
    if (!mod) throw new HeaderError(`Unknown driver '${format.name}'`);
    return { format: mod.name, probed: false, parsed: mod.parse(src) };
  }
  const probed = probeFormat(src);
  return { format: probed, probed: true, parsed: formatModule(probed)!.parse(src) };
}

function readHeader(node: ChainNode, p: Pending, read: Exclude<HeaderRead, HeaderError>): Visited {
  const parsed = read.parsed;
  node.format = read.format as ChainNode['format'];
  node.formatSource = read.probed ? 'probed' : p.format!.source;
  if (read.probed && p.role === 'backing') {
    // libvirt accepts a probed backing format only when that image has no backing of its own:
    // otherwise a guest could write a header into a raw disk and reach any file.
    if (parsed.backing) {
      node.format = 'raw';
      node.formatSource = 'assumed-raw';
      node.problems.push({
        code: 'no-backing-format',
        message: `format of backing image ${node.path} was not specified in ${p.parent?.path ?? 'its parent'}, and it names a backing file of its own; libvirt refuses it, so it is not followed`,
      });
      node.header = parsed.header;
      return { node, parsed: null };
    }
    if (read.format !== 'raw') {
      node.problems.push({
        code: 'format-probed',
        message: `format of backing image ${node.path} was not recorded in ${p.parent?.path ?? 'its parent'}; probed as ${read.format}`,
      });
    }
  }
  node.header = parsed.header;
  node.problems.push(...parsed.problems);
  return { node, parsed };
}
