// Shared by the tests of the vmdk, vdi, vpc, vhdx, luks, iso and raw modules: open a file as an
// ImageSource, compare a parse with qemu-img info, and check refusals against qemu-img's own.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { expect } from 'vitest';
import { HeaderError, READ_BUDGET, bufferSource, type ImageSource } from '../../../electron/node/core/source.js';
import { withSource } from '../../support/format-source.js';

export { withSource };
import { probeFormat } from '../../../electron/node/core/formats/index.js';
import type { FormatModule, ParsedImage } from '../../../electron/node/core/formats/types.js';

/** Probe and parse `file` with `mod`; the reads must stay within the budget. */
export function probeAndParse(file: string, mod: FormatModule): { probed: string; parsed: ParsedImage; bytesRead: number } {
  return withSource(file, (src) => {
    const probed = probeFormat(src);
    const parsed = mod.parse(src);
    expect(src.bytesRead).toBeLessThanOrEqual(READ_BUDGET);
    return { probed, parsed, bytesRead: src.bytesRead };
  });
}

/** The fields of a parse that qemu-img info prints, as qemu-img prints them. */
export function qemuView(parsed: ParsedImage, formatSpecific: unknown = parsed.header.formatSpecific): Record<string, unknown> {
  const h = parsed.header;
  const out: Record<string, unknown> = {
    'virtual-size': h.virtualSize,
    'dirty-flag': h.dirty,
  };
  if (h.clusterSize !== null) out['cluster-size'] = h.clusterSize;
  if (h.encrypted) out.encrypted = true;
  if (formatSpecific !== null) out['format-specific'] = formatSpecific;
  if (parsed.backing) out['backing-filename'] = parsed.backing.raw.toString();
  if (parsed.backing?.format) out['backing-filename-format'] = parsed.backing.format;
  for (const [k, v] of Object.entries(parsed.qemuExtra ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Compare against `qemu-img info --output=json` (the keys that depend on the header only). */
export function expectLikeQemu(parsed: ParsedImage, info: any, formatSpecific?: unknown): void {
  const want: Record<string, unknown> = {};
  for (const k of [
    'virtual-size',
    'dirty-flag',
    'cluster-size',
    'encrypted',
    'format-specific',
    'backing-filename',
    'backing-filename-format',
  ]) {
    if (k in info) want[k] = info[k];
  }
  expect(qemuView(parsed, formatSpecific === undefined ? parsed.header.formatSpecific : formatSpecific)).toEqual(want);
}

/** qemu-img info on a file qemu must refuse: returns its error text. */
export function qemuRefusal(cwd: string, file: string, format?: string): string {
  try {
    execFileSync('qemu-img', ['info', '--output=json', ...(format ? ['-f', format] : []), file], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e: any) {
    return String(e.stderr);
  }
  throw new Error(`qemu-img opened ${file}`);
}

/** Our parse of `src` must throw a HeaderError; returns it. Reads stay within the budget. */
export function refusal(mod: FormatModule, src: ImageSource): HeaderError {
  let err: unknown;
  try {
    mod.parse(src);
  } catch (e) {
    err = e;
  }
  expect(src.bytesRead).toBeLessThanOrEqual(READ_BUDGET);
  expect(err).toBeInstanceOf(HeaderError);
  return err as HeaderError;
}

/** Refusal of a file on disk. */
export function fileRefusal(mod: FormatModule, file: string): HeaderError {
  return withSource(file, (src) => refusal(mod, src));
}

/** Refusal of bytes in memory. */
export function bytesRefusal(mod: FormatModule, bytes: Uint8Array): HeaderError {
  return refusal(mod, bufferSource(bytes));
}

/** Both qemu-img and our module refuse `file`, and qemu's message contains `qemuSays`. */
export function expectBothRefuse(
  cwd: string,
  file: string,
  format: string,
  mod: FormatModule,
  ours: RegExp | string,
  qemuSays: string = typeof ours === 'string' ? ours : '',
): HeaderError {
  const q = qemuRefusal(cwd, file, format);
  if (qemuSays) expect(q).toContain(qemuSays);
  const e = fileRefusal(mod, `${cwd}/${file}`);
  if (typeof ours === 'string') expect(e.message).toContain(ours);
  else expect(e.message).toMatch(ours);
  return e;
}

/** Copy `from` to `to` (both in `dir`), then patch bytes at offsets. */
export function patchedCopy(dir: string, from: string, to: string, patches: Array<[number, Uint8Array]>, truncate?: number): string {
  fs.copyFileSync(`${dir}/${from}`, `${dir}/${to}`);
  const fd = fs.openSync(`${dir}/${to}`, 'r+');
  try {
    for (const [off, bytes] of patches) fs.writeSync(fd, bytes, 0, bytes.length, off);
    if (truncate !== undefined) fs.ftruncateSync(fd, truncate);
  } finally {
    fs.closeSync(fd);
  }
  return to;
}

export function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

export function le16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

export function le64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
