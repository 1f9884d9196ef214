// Backing names whose bytes are not valid UTF-8: qemu opens the file by those bytes and its JSON
// writer prints them decoded as modified UTF-8 (one U+FFFD per bad sequence, C0 80 as U+0000).
// `inspect --qemu-json` must follow such a name and print what qemu-img 7.2 and 10 print, key by
// key. qemu-img makes each chain under an ASCII stand-in name; the file is then renamed to the
// raw bytes and the header patched to name it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskchain } from '../support/bin.js';
import { expectSameQemuJson, kindDir, qemuChainInfo } from '../support/image-kinds.js';
import { patchFile, qemuImg, tempDir } from '../support/qemu.js';
import { QEMU10_MISSING, qemu10Binary } from '../support/qemu10.js';

const QEMU10 = qemu10Binary();
if (!QEMU10) console.log(QEMU10_MISSING);

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('diskchain-non-utf8-')));
afterAll(() => cleanup());

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/**
 * Rename `d/stand` to the bytes `raw` (same length) and make `image` name it: its first
 * occurrence in the image's first 64 KiB (a qcow2 header's name, a vmdk descriptor's hint).
 */
function renameNamed(d: string, image: string, stand: string, raw: Buffer): void {
  expect(raw.length).toBe(Buffer.byteLength(stand));
  const file = path.join(d, image);
  const at = fs.readFileSync(file).subarray(0, 65536).indexOf(Buffer.from(stand));
  expect(at).toBeGreaterThan(0);
  patchFile(file, at, raw);
  fs.renameSync(Buffer.from(path.join(d, stand)), Buffer.concat([Buffer.from(d + '/'), raw]));
}

/** `diskchain inspect --qemu-json ARGS top` from source; without a binary, PATH's qemu-img decides. */
function inspectQemuJson(d: string, top: string, args: string[] = [], qemuImgBinary = ''): unknown[] {
  const r = diskchain(['inspect', '--qemu-json', ...args, top], { cwd: d, env: { DISKCHAIN_QEMU_IMG: qemuImgBinary } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as unknown[];
}

/** Equal to qemu-img 7.2, and to qemu-img 10 chosen by binary and by --qemu-version. */
function expectSameAsQemu(d: string, top: string): unknown[] {
  const expected = qemuChainInfo('qemu-img', d, top);
  expectSameQemuJson(inspectQemuJson(d, top), expected);
  if (QEMU10) {
    const expected10 = qemuChainInfo(QEMU10, d, top);
    expectSameQemuJson(inspectQemuJson(d, top, [], QEMU10), expected10);
    expectSameQemuJson(inspectQemuJson(d, top, ['--qemu-version', '10.0']), expected10);
  }
  return expected;
}

const q = qemuImg;
/** A qcow2 `top` backed by a qcow2 under the stand-in `stand`, then renamed to `raw`. */
function qcow2Over(d: string, top: string, stand: string, raw: Buffer): void {
  if (!fs.existsSync(path.join(d, stand))) q(d, 'create', '-q', '-f', 'qcow2', stand, '64M');
  q(d, 'create', '-q', '-f', 'qcow2', '-b', stand, '-F', 'qcow2', top);
  renameNamed(d, top, stand, raw);
}

const BAD_NAMES: Array<[string, Buffer, string]> = [
  ['a byte ff', bytes('b', [0xff], 'ase.qcow2'), 'b\ufffdase.qcow2'],
  ['C0 80 (modified UTF-8 NUL)', bytes('c', [0xc0, 0x80], '.qcow2'), 'c\u0000.qcow2'],
  ['a lone continuation byte', bytes('d', [0x80], 'e.qcow2'), 'd\ufffde.qcow2'],
  ['a truncated sequence', bytes('t', [0xe3, 0x81], '.qcow2'), 't\ufffd.qcow2'],
];

describe('inspect --qemu-json follows backing names that are not valid UTF-8, as qemu-img does', () => {
  for (const [what, raw, shown] of BAD_NAMES) {
    it(`qcow2 backing name with ${what}`, () => {
      const d = kindDir(dir, what);
      qcow2Over(d, 'top.qcow2', 'X'.repeat(raw.length), raw);
      const expected = expectSameAsQemu(d, 'top.qcow2') as Array<Record<string, unknown>>;
      // The backing layer was opened (by its bytes) and is printed under qemu's decoded name.
      expect(expected).toHaveLength(2);
      expect(expected[0]!['full-backing-filename']).toBe(shown);
      expect(expected[1]!['filename']).toBe(shown);
    });
  }

  it('a folder name that is not UTF-8: the next relative name is joined to its bytes', () => {
    const d = kindDir(dir, 'folder');
    fs.mkdirSync(path.join(d, 'sub'));
    q(d, 'create', '-q', '-f', 'qcow2', 'sub/base.qcow2', '64M');
    q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'sub/mid.qcow2');
    q(d, 'create', '-q', '-f', 'qcow2', '-b', 'sub/mid.qcow2', '-F', 'qcow2', 'top.qcow2');
    renameNamed(d, 'top.qcow2', 'sub', bytes('s', [0xfe], 'b'));
    const expected = expectSameAsQemu(d, 'top.qcow2') as Array<Record<string, unknown>>;
    expect(expected.map((e) => e['filename'])).toEqual(['top.qcow2', 's\ufffdb/mid.qcow2', 's\ufffdb/base.qcow2']);
  });

  it('two names that print alike but differ in bytes are two files, not a loop', () => {
    const d = kindDir(dir, 'alike');
    qcow2Over(d, 'Mx.qcow2', 'Bx.qcow2', bytes('x', [0xfe], '.qcow2'));
    qcow2Over(d, 'top.qcow2', 'Mx.qcow2', bytes('x', [0xff], '.qcow2'));
    const expected = expectSameAsQemu(d, 'top.qcow2') as Array<Record<string, unknown>>;
    expect(expected.map((e) => e['filename'])).toEqual(['top.qcow2', 'x\ufffd.qcow2', 'x\ufffd.qcow2']);
  });

  it('vmdk whose parentFileNameHint is not UTF-8: the parent is opened by its bytes', () => {
    const d = kindDir(dir, 'vmdk');
    const raw = bytes('p', [0xff, 0xc0, 0x80, 0x80], '.vmdk');
    const stand = 'P'.repeat(raw.length);
    q(d, 'create', '-q', '-f', 'vmdk', stand, '64M');
    q(d, 'create', '-q', '-f', 'vmdk', '-b', stand, '-F', 'vmdk', 'top.vmdk');
    renameNamed(d, 'top.vmdk', stand, raw);
    const expected = expectSameAsQemu(d, 'top.vmdk') as Array<Record<string, unknown>>;
    expect(expected).toHaveLength(2);
    expect(expected[1]!['filename']).toBe('p\ufffd\u0000\ufffd.vmdk');
  });

  it('vmdk extent name that is not UTF-8: the extent is opened (and counted) by its bytes', () => {
    const d = kindDir(dir, 'extent');
    q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'EEEE.vmdk', '1M');
    fs.writeFileSync(path.join(d, 'EEEE-flat.vmdk'), Buffer.alloc(1 << 20, 1));
    renameNamed(d, 'EEEE.vmdk', 'EEEE-flat.vmdk', bytes('E', [0xff], 'EE-flat.vmdk'));
    const expected = expectSameAsQemu(d, 'EEEE.vmdk') as Array<Record<string, unknown>>;
    expect(expected[0]!['actual-size']).toBeGreaterThanOrEqual(1 << 20);
  });

  it('a FIFO, and a link to one, under such a name are refused without being opened', () => {
    const d = kindDir(dir, 'fifo');
    execFileSync('mkfifo', [path.join(d, 'FFFFFF')]);
    const fifo = bytes('f', [0xff], 'fifo');
    // The link names the FIFO by its bytes, as it will be after the first rename.
    fs.symlinkSync(fifo, path.join(d, 'LLLLLL'));
    for (const [stand, raw] of [
      ['FFFFFF', fifo],
      ['LLLLLL', bytes('l', [0xfe], 'link')],
    ] as const) {
      const top = `${stand}.qcow2`;
      q(d, 'create', '-q', '-f', 'qcow2', '-u', '-b', stand, '-F', 'qcow2', top, '64M');
      renameNamed(d, top, stand, raw);
      const t0 = Date.now();
      const r = diskchain(['inspect', '--qemu-json', top], { cwd: d, timeout: 20_000 });
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.signal).toBeNull();
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`it is a FIFO; diskchain never opens one`);
    }
  });
});
