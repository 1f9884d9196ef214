// Real chains made by qemu-img, and exact snapshots of what relabelling may touch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lgetxattr, llistxattr, lsetxattr } from '../../electron/node/native/libc.js';
import type { VmProfile } from '../../shared/plan.js';
import { qemuImg } from './qemu.js';

export const ORIGINAL_CONTEXT = 'system_u:object_r:virt_image_t:s0';
export const IMAGE_LABEL = 'system_u:object_r:svirt_image_t:s0:c12,c345';
export const CONTENT = 'system_u:object_r:virt_content_t:s0';
export const PREFIX = 'trusted.libvirt.security.';

export interface Chain {
  dir: string;
  top: string;
  topData: string;
  mid: string;
  /** Only with dataEverywhere. */
  midData?: string;
  base: string;
  baseData: string;
  /** Every file, top first. */
  all: string[];
}

export interface ChainOptions {
  /** Before every file name, so several chains can share a folder. */
  prefix?: string;
  /** How the headers name each other: relative to the folder, or by absolute path (as libvirt-made chains usually do). */
  names?: 'relative' | 'absolute';
  /** The middle layer has a data file too (mid.data), and data files end in .data instead of .raw. */
  dataEverywhere?: boolean;
  /** The base's virtual size. */
  size?: string;
}

/**
 * base.qcow2 (with a data file) ← mid.qcow2 ← top.qcow2 (with a data file), in `dir`: the one
 * chain the relabel, libvirt, security and UI tests share.
 */
export function makeChain(dir: string, opts: ChainOptions | string = {}, names?: 'relative' | 'absolute'): Chain {
  const o: ChainOptions = typeof opts === 'string' ? { prefix: opts, ...(names ? { names } : {}) } : opts;
  const prefix = o.prefix ?? '';
  const p = (n: string) => path.join(dir, prefix + n);
  const n = o.names === 'absolute' ? p : (x: string) => prefix + x;
  const ext = o.dataEverywhere ? '.data' : '.raw';
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${n('base' + ext)}`, n('base.qcow2'), o.size ?? '1M');
  qemuImg(
    dir,
    'create',
    '-q',
    '-f',
    'qcow2',
    '-F',
    'qcow2',
    '-b',
    n('base.qcow2'),
    ...(o.dataEverywhere ? ['-o', `data_file=${n('mid.data')}`] : []),
    n('mid.qcow2'),
  );
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', n('mid.qcow2'), '-o', `data_file=${n('top' + ext)}`, n('top.qcow2'));
  const c = { dir, top: p('top.qcow2'), topData: p('top' + ext), mid: p('mid.qcow2'), base: p('base.qcow2'), baseData: p('base' + ext) };
  if (!o.dataEverywhere) return { ...c, all: [c.top, c.topData, c.mid, c.base, c.baseData] };
  const midData = p('mid.data');
  return { ...c, midData, all: [c.top, c.topData, c.mid, midData, c.base, c.baseData] };
}

/** A single qcow2 image with a data file: `name`.qcow2 + `name`.raw. */
export function makeImageWithData(dir: string, name: string): { image: string; data: string } {
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${name}.raw`, `${name}.qcow2`, '64K');
  return { image: path.join(dir, `${name}.qcow2`), data: path.join(dir, `${name}.raw`) };
}

/** Give files an SELinux context the way libselinux stores it (with its NUL). */
export function setContext(files: string[], context = ORIGINAL_CONTEXT): void {
  for (const f of files) lsetxattr(f, 'security.selinux', Buffer.from(context + '\0'));
}

export interface FileSnapshot {
  dev: number;
  ino: number;
  uid: number;
  gid: number;
  mode: number;
  /** Every xattr (not only the managed ones), hex. */
  xattrs: Record<string, string>;
}

export function snapshot(files: string[]): Record<string, FileSnapshot> {
  const out: Record<string, FileSnapshot> = {};
  for (const f of files) {
    const st = fs.lstatSync(f);
    const xattrs: Record<string, string> = {};
    for (const n of llistxattr(f).sort()) xattrs[n] = lgetxattr(f, n)?.toString('hex') ?? '';
    out[f] = { dev: st.dev, ino: st.ino, uid: st.uid, gid: st.gid, mode: st.mode, xattrs };
  }
  return out;
}

/** xattr text (trailing NUL dropped), or null. */
export function xattr(file: string, name: string): string | null {
  const v = lgetxattr(file, name);
  if (!v) return null;
  const end = v.indexOf(0);
  return v.subarray(0, end < 0 ? v.length : end).toString('utf8');
}

/** The libvirt xattrs of a file, by short name, raw text (no NUL handling: libvirt writes none). */
export function libvirtAttrs(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of llistxattr(file)) {
    if (n.startsWith(PREFIX)) out[n.slice(PREFIX.length)] = lgetxattr(file, n)!.toString('utf8');
  }
  return out;
}

export function owner(file: string): string {
  const st = fs.lstatSync(file);
  return `${st.uid}:${st.gid}`;
}

export function profile(over: Partial<VmProfile> = {}): VmProfile {
  return {
    drivers: ['dac', 'selinux'],
    user: '+107',
    group: '+107',
    imageLabel: IMAGE_LABEL,
    readonly: false,
    shareable: false,
    allowRoots: [],
    ...over,
  };
}

/** Replace the bytes `from` with `to` (same length) wherever they first occur in `file`. */
export function replaceBytes(file: string, from: string, to: string): void {
  if (from.length !== to.length) throw new Error('replaceBytes needs equal lengths');
  const data = fs.readFileSync(file);
  const at = data.indexOf(Buffer.from(from));
  if (at < 0) throw new Error(`'${from}' not found in ${file}`);
  Buffer.from(to).copy(data, at);
  fs.writeFileSync(file, data);
}
