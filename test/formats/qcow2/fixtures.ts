// Fixture builders for the qcow2/qcow/qed tests: valid images come from qemu-img at test time,
// malformed ones are those images with bytes patched. Also the comparison with qemu-img info.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { HeaderError } from '../../../electron/node/core/source.js';
import { parseFile, type ParseOutcome } from '../../support/format-source.js';

export { parseFile, type ParseOutcome };
import type { FormatModule, ParsedImage } from '../../../electron/node/core/formats/types.js';
import { qemuText } from '../../../electron/node/core/formats/common/text.js';
import { be32, be64, patchFile, qemuImg } from '../../support/qemu.js';

export { be32, be64, patchFile, qemuImg };

/** The bound the malformed cases must respect. */
export const READ_BOUND = 2 * 1024 * 1024 + 4096;

export const EXT = {
  end: 0,
  backingFormat: 0xe2792aca,
  featureTable: 0x6803f857,
  crypto: 0x0537be77,
  bitmaps: 0x23852875,
  dataFile: 0x44415441,
} as const;

/** Parse and insist it worked. */
export function mustParse(mod: FormatModule, file: string): ParsedImage & { bytesRead: number } {
  const out = parseFile(mod, file);
  if (out.error) throw new Error(`${path.basename(file)}: unexpected HeaderError: ${out.error.message}`);
  return Object.assign(out.parsed!, { bytesRead: out.src.bytesRead });
}

/** Parse and insist on a HeaderError; checks the read bound too. */
export function mustRefuse(mod: FormatModule, file: string): HeaderError {
  const out = parseFile(mod, file);
  expect(out.src.bytesRead).toBeLessThanOrEqual(READ_BOUND);
  if (!out.error) throw new Error(`${path.basename(file)}: parsed although it should be refused`);
  return out.error;
}

export type QemuResult = { ok: true; info: any } | { ok: false; status: number | null; signal: string | null; message: string };

/** `qemu-img info --output=json [-f fmt] file`, without throwing: qemu-img's verdict on a file. */
export function qemuVerdict(cwd: string, file: string, format?: string): QemuResult {
  const args = ['info', '--output=json', '-U', ...(format ? ['-f', format] : []), file];
  const r = spawnSync('qemu-img', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0) return { ok: true, info: JSON.parse(r.stdout) };
  const message = (r.stderr ?? '').trim().replace(/^qemu-img: Could not open '[^']*': /, '');
  return { ok: false, status: r.status, signal: r.signal, message };
}

/** qemu-img must accept the file too; returns its JSON. */
export function qemuAccepts(cwd: string, file: string, format?: string): any {
  const v = qemuVerdict(cwd, file, format);
  if (!v.ok) throw new Error(`qemu-img refused ${file}: ${v.message || v.signal}`);
  return v.info;
}

/** qemu-img must refuse the file too; returns its message (empty when it crashed). */
export function qemuRefuses(cwd: string, file: string, format?: string): string {
  const v = qemuVerdict(cwd, file, format);
  if (v.ok) throw new Error(`qemu-img accepted ${file}`);
  return v.message;
}

/** Everything the brief says must equal qemu-img's JSON for one image. */
export function expectLikeQemu(p: ParsedImage, info: any): void {
  expect(p.header.format).toBe(info.format);
  expect(p.header.virtualSize).toBe(info['virtual-size']);
  expect(p.header.clusterSize).toBe(info['cluster-size'] ?? null);
  expect(p.header.dirty).toBe(info['dirty-flag']);
  expect(p.header.encrypted).toBe(info.encrypted ?? false);
  expect(p.header.formatSpecific ?? null).toEqual(info['format-specific'] ?? null);
  if (info['backing-filename'] === undefined) {
    expect(p.backing).toBeNull();
  } else {
    expect(p.backing).not.toBeNull();
    expect(qemuText(p.backing!.raw)).toBe(info['backing-filename']);
    expect(p.qemuExtra?.['backing-filename']).toBe(info['backing-filename']);
  }
  expect(p.backing?.format ?? null).toBe(info['backing-filename-format'] ?? null);
  if (info['backing-filename-format'] !== undefined) {
    expect(p.qemuExtra?.['backing-filename-format']).toBe(info['backing-filename-format']);
  }
}

export function codes(p: ParsedImage): string[] {
  return p.problems.map((x) => x.code);
}

/** Copy a file (so each malformed case starts from a fresh valid image). */
export function copy(dir: string, from: string, to: string): string {
  fs.copyFileSync(path.join(dir, from), path.join(dir, to));
  return path.join(dir, to);
}

export function u8(n: number): Buffer {
  return Buffer.from([n & 0xff]);
}

export interface Ext {
  type: number;
  data: Buffer;
  /** Overrides the length field (for broken extensions). */
  length?: number;
}

/** Encode extensions as qcow2 stores them: type, length, data, zero padding to 8 bytes. */
export function encodeExtensions(exts: Ext[], terminate = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of exts) {
    const pad = (8 - (e.data.length % 8)) % 8;
    parts.push(be32(e.type), be32(e.length ?? e.data.length), e.data, Buffer.alloc(pad));
  }
  if (terminate) parts.push(Buffer.alloc(8));
  return Buffer.concat(parts);
}

/**
 * Rewrite a qcow2 image's header area: the extensions from header_length on, then (optionally)
 * the backing file name right after them, with backing_file_offset/size updated. The rest of the
 * first cluster up to `clearTo` is zeroed.
 */
export function rewriteHeaderArea(
  file: string,
  exts: Ext[],
  opts: { backing?: Buffer | null; terminate?: boolean; clearTo?: number } = {},
): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const h = Buffer.alloc(112);
    fs.readSync(fd, h, 0, 112, 0);
    const version = h.readUInt32BE(4);
    const headerLength = version === 2 ? 72 : h.readUInt32BE(100);
    const clusterSize = 2 ** h.readUInt32BE(20);
    const area = encodeExtensions(exts, opts.terminate ?? true);
    const clearTo = Math.min(opts.clearTo ?? clusterSize, clusterSize);
    fs.writeSync(fd, Buffer.alloc(clearTo - headerLength), 0, clearTo - headerLength, headerLength);
    fs.writeSync(fd, area, 0, area.length, headerLength);
    if (opts.backing) {
      const bo = headerLength + area.length;
      fs.writeSync(fd, opts.backing, 0, opts.backing.length, bo);
      fs.writeSync(fd, Buffer.concat([be64(bo), be32(opts.backing.length)]), 0, 12, 8);
    } else if (opts.backing === null) {
      fs.writeSync(fd, Buffer.alloc(12), 0, 12, 8);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Read the extensions of a qemu-made image (to keep some while rewriting the area). */
export function readExtensions(file: string): Ext[] {
  const buf = fs.readFileSync(file).subarray(0, 65536);
  const version = buf.readUInt32BE(4);
  let off = version === 2 ? 72 : buf.readUInt32BE(100);
  const out: Ext[] = [];
  for (let i = 0; i < 1000 && off + 8 <= buf.length; i++) {
    const type = buf.readUInt32BE(off);
    const len = buf.readUInt32BE(off + 4);
    if (type === 0) break;
    out.push({ type, data: Buffer.from(buf.subarray(off + 8, off + 8 + len)) });
    off += 8 + Math.ceil(len / 8) * 8;
  }
  return out;
}

/** One 48-byte feature-name table entry. */
export function featureEntry(type: number, bit: number, name: string): Buffer {
  const b = Buffer.alloc(48);
  b[0] = type;
  b[1] = bit;
  b.write(name, 2, 46, 'latin1');
  return b;
}

/**
 * A LUKS-encrypted qcow2. qemu-img's PBKDF timing sometimes fails on a busy machine ("Unable to
 * get accurate CPU usage"), so this retries.
 */
export function makeLuksQcow2(dir: string, name: string, extra = ''): string {
  let last: unknown;
  for (let attempt = 0; attempt < 6; attempt++) {
    fs.rmSync(path.join(dir, name), { force: true });
    try {
      qemuImg(
        dir,
        'create',
        '-q',
        '-f',
        'qcow2',
        '--object',
        'secret,id=sec0,data=diskchain',
        '-o',
        `encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=100${extra}`,
        name,
        '1M',
      );
      return path.join(dir, name);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

/**
 * The three checks every qcow-family test file makes against qemu-img, bound to one format
 * module and the folder its beforeAll fills (read lazily: the folder exists only then).
 */
export function likeQemu(mod: FormatModule, format: string, folder: () => string) {
  /** A fresh copy of one of the valid images, patched. */
  function variant(from: string, name: string, patches: Array<[number, Buffer]> = []): string {
    const file = copy(folder(), from, name);
    for (const [off, bytes] of patches) patchFile(file, off, bytes);
    return file;
  }
  /** Both qemu-img and the module open the file; the module's view equals qemu-img's. */
  function accepted(file: string): ParsedImage & { bytesRead: number } {
    const p = mustParse(mod, file);
    expect(p.bytesRead).toBeLessThanOrEqual(READ_BOUND);
    expectLikeQemu(p, qemuAccepts(folder(), file, format));
    return p;
  }
  /** Both refuse it with the same message (and, when given, the module with this code). */
  function refused(file: string, message: string, code?: HeaderError['code']): HeaderError {
    const err = mustRefuse(mod, file);
    expect(err.message).toBe(message);
    if (code) expect(err.code).toBe(code);
    expect(qemuRefuses(folder(), file, format)).toBe(message);
    return err;
  }
  return { variant, accepted, refused, compare: (name: string) => accepted(path.join(folder(), name)) };
}
