import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READ_BUDGET, bufferSource, fdSource } from '../../../electron/node/core/source.js';
import { probeFormat } from '../../../electron/node/core/formats/index.js';
import type { ParsedImage } from '../../../electron/node/core/formats/types.js';
import { vmdk, vmdkExtents, vmdkFormatSpecific, vmdkResolveExtents } from '../../../electron/node/core/formats/vmdk.js';
import { qemuImg, qemuInfo, tempDir } from '../../support/qemu.js';
import {
  bytesRefusal,
  expectBothRefuse,
  expectLikeQemu,
  fileRefusal,
  le32,
  le64,
  patchedCopy,
  probeAndParse,
  withSource,
} from '../raw/common.js';
import { KDMV, allocated, cowdImage, descriptor, makeVmdk, seSparseExtent, writeText } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-vmdk-'));
  makeVmdk(dir, 'sparse.vmdk', 'monolithicSparse');
  makeVmdk(dir, 'stream.vmdk', 'streamOptimized');
  makeVmdk(dir, 'flat.vmdk', 'monolithicFlat');
  makeVmdk(dir, 'split.vmdk', 'twoGbMaxExtentSparse');
  makeVmdk(dir, 'splitflat.vmdk', 'twoGbMaxExtentFlat');
  qemuImg(dir, 'create', '-q', '-f', 'vmdk', '-b', 'sparse.vmdk', '-F', 'vmdk', 'child.vmdk');
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);

/** Resolve a descriptor's extents from files in `dir`, as the chain code would. */
function resolveInDir(parsed: ParsedImage): ParsedImage {
  const fds: number[] = [];
  try {
    return vmdkResolveExtents(parsed, (name) => {
      const p = path.isAbsolute(name) ? name : at(name);
      if (!fs.existsSync(p)) return null;
      const fd = fs.openSync(p, 'r');
      fds.push(fd);
      return fdSource(fd, fs.fstatSync(fd).size);
    });
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

function parseFile(name: string): ParsedImage {
  const { probed, parsed } = probeAndParse(at(name), vmdk);
  expect(probed).toBe('vmdk');
  return parsed;
}

describe('vmdk: images made by qemu-img', () => {
  it('monolithicSparse', () => {
    const parsed = parseFile('sparse.vmdk');
    const info = qemuInfo(dir, 'sparse.vmdk');
    expectLikeQemu(parsed, info, vmdkFormatSpecific(parsed, 'sparse.vmdk'));
    expect(parsed.header.formatSpecific).toEqual(vmdkFormatSpecific(parsed, ''));
    expect(parsed.backing).toBeNull();
    expect(vmdkExtents(parsed)).toEqual([]);
    expect(info['actual-size']).toBe(allocated(at('sparse.vmdk')));
  });

  it('monolithicSparse opened by an absolute name', () => {
    const parsed = parseFile('sparse.vmdk');
    const info = qemuInfo(dir, at('sparse.vmdk'));
    expectLikeQemu(parsed, info, vmdkFormatSpecific(parsed, at('sparse.vmdk')));
  });

  it('streamOptimized', () => {
    const parsed = parseFile('stream.vmdk');
    expect(parsed.header.fields.create_type).toBe('streamOptimized');
    expectLikeQemu(parsed, qemuInfo(dir, 'stream.vmdk'), vmdkFormatSpecific(parsed, 'stream.vmdk'));
  });

  it('monolithicFlat, before and after opening the extent', () => {
    const parsed = parseFile('flat.vmdk');
    const info = qemuInfo(dir, 'flat.vmdk');
    expectLikeQemu(parsed, info, vmdkFormatSpecific(parsed, 'flat.vmdk'));
    expect(vmdkExtents(parsed)).toEqual(['flat-flat.vmdk']);
    expect(parsed.header.fields.extent0_filename).toBe('flat-flat.vmdk');
    const resolved = resolveInDir(parsed);
    expectLikeQemu(resolved, info, vmdkFormatSpecific(resolved, 'flat.vmdk'));
  });

  it('twoGbMaxExtentSparse, before and after opening the extents', () => {
    const parsed = parseFile('split.vmdk');
    const info = qemuInfo(dir, 'split.vmdk');
    expect(vmdkExtents(parsed)).toEqual(['split-s001.vmdk', 'split-s002.vmdk', 'split-s003.vmdk']);
    expectLikeQemu(parsed, info, vmdkFormatSpecific(parsed, 'split.vmdk'));
    const resolved = resolveInDir(parsed);
    expect(resolved.header.fields.extent1_resolved).toBe(true);
    expectLikeQemu(resolved, info, vmdkFormatSpecific(resolved, 'split.vmdk'));
    // Opened by an absolute name, qemu names the extents by absolute names too.
    expectLikeQemu(resolved, qemuInfo(dir, at('split.vmdk')), vmdkFormatSpecific(resolved, at('split.vmdk')));
  });

  it('twoGbMaxExtentFlat', () => {
    const parsed = parseFile('splitflat.vmdk');
    const info = qemuInfo(dir, 'splitflat.vmdk');
    expectLikeQemu(parsed, info, vmdkFormatSpecific(parsed, 'splitflat.vmdk'));
    expect(vmdkExtents(parsed)).toHaveLength(3);
    expectLikeQemu(resolveInDir(parsed), info, vmdkFormatSpecific(parsed, 'splitflat.vmdk'));
  });

  it('actual-size is the descriptor plus every extent file, as qemu counts it', () => {
    for (const name of ['flat.vmdk', 'split.vmdk', 'splitflat.vmdk', 'sparse.vmdk']) {
      const parsed = parseFile(name);
      const sum = allocated(at(name)) + vmdkExtents(parsed).reduce((n, e) => n + allocated(at(e)), 0);
      expect(qemuInfo(dir, name)['actual-size']).toBe(sum);
    }
  });

  it('a vmdk with a backing file: parentFileNameHint, qemu records "vmdk" as its format', () => {
    const parsed = parseFile('child.vmdk');
    const info = qemuInfo(dir, 'child.vmdk');
    expect(parsed.backing?.raw.toString()).toBe('sparse.vmdk');
    expect(parsed.backing?.format).toBeNull();
    expect(parsed.qemuExtra?.['backing-filename-format']).toBe('vmdk');
    expect(info['backing-filename-format']).toBe('vmdk');
    expectLikeQemu(parsed, info, vmdkFormatSpecific(parsed, 'child.vmdk'));
    const base = parseFile('sparse.vmdk');
    expect(parsed.header.fields.parent_cid).toBe(base.header.fields.cid);
  });

  it('an empty parentFileNameHint is no backing file', () => {
    const f = writeText(dir, 'emptyhint.vmdk', descriptor(['parentFileNameHint=""', 'RW 100 FLAT "flat-flat.vmdk" 0']));
    const parsed = parseFile(f);
    expect(parsed.backing).toBeNull();
    expectLikeQemu(parsed, qemuInfo(dir, f), vmdkFormatSpecific(parsed, f));
  });

  it('extent lines as sscanf reads them: across lines, ignored kinds, mixed extents', () => {
    const f = writeText(
      dir,
      'mixed.vmdk',
      descriptor(
        [
          'RW 4194304 SPARSE "split-s001.vmdk"',
          'RW 100',
          'FLAT',
          '"flat-flat.vmdk" 7',
          'RDONLY 100 FLAT "flat-flat.vmdk" 0',
          'RW 0 FLAT "flat-flat.vmdk" 0',
          'RW 100 ZERO "whatever"',
        ],
        { createType: 'twoGbMaxExtentSparse' },
      ),
    );
    const parsed = parseFile(f);
    const info = qemuInfo(dir, f);
    // Extents of different kinds: qemu prints neither cluster-size nor dirty-flag.
    expect(info['dirty-flag']).toBeUndefined();
    expectLikeQemu(resolveInDir(parsed), info, vmdkFormatSpecific(parsed, f));
    expect(parsed.header.fields.extent1_offset).toBe(7);
  });

  it('a VMFS sparse (COWD) image: descriptor at 0x200, no create type', () => {
    const f = writeText(
      dir,
      'cowd.vmdk',
      cowdImage(
        2048,
        16,
        '# Disk DescriptorFile\nversion=1\nCID=abcdef01\nparentCID=ffffffff\ncreateType="vmfsSparse"\nparentFileNameHint="base.vmdk"\n',
      ),
    );
    const parsed = parseFile(f);
    expect(parsed.backing?.raw.toString()).toBe('base.vmdk');
    expectLikeQemu(parsed, qemuInfo(dir, f), vmdkFormatSpecific(parsed, f));
  });

  it('an seSparse extent', () => {
    writeText(dir, 'se.vmdk', seSparseExtent(2048));
    const f = writeText(dir, 'sedesc.vmdk', descriptor(['RW 4096 SESPARSE "se.vmdk"'], { createType: 'seSparse' }));
    const resolved = resolveInDir(parseFile(f));
    expectLikeQemu(resolved, qemuInfo(dir, f), vmdkFormatSpecific(resolved, f));
  });

  it('an seSparse extent whose journal needs replaying', () => {
    writeText(
      dir,
      'sedirty.vmdk',
      seSparseExtent(2048, (_q, v) => {
        v[3] = 1n;
      }),
    );
    const f = writeText(dir, 'sedirtydesc.vmdk', descriptor(['RW 4096 SESPARSE "sedirty.vmdk"'], { createType: 'seSparse' }));
    expect(() => resolveInDir(parseFile(f))).toThrow('Image is dirty, Replaying journal not supported');
    expect(qemuRefusalText(f)).toContain('Image is dirty, Replaying journal not supported');
  });

  it('probes text descriptors as qemu does', () => {
    const cases: Array<[string, string]> = [
      ['# comment\n   \n\nversion=1\nCID=1\n', 'commented'],
      ['version=2\r\nCID=1\r\n', 'crlf'],
      ['   \r\nversion=3\nCID=1\n', 'blank-crlf'],
      ['  x\nversion=1\n', 'junk'],
      ['hello\nversion=1\n', 'text'],
    ];
    for (const [text, name] of cases) {
      const f = writeText(
        dir,
        `probe-${name}.vmdk`,
        `${text}parentCID=ffffffff\ncreateType="monolithicFlat"\n# Extents\nRW 1 FLAT "flat-flat.vmdk" 0\n`,
      );
      const qemuFormat = qemuInfo(dir, f).format;
      withSource(at(f), (src) => expect(probeFormat(src)).toBe(qemuFormat));
    }
  });
});

describe('vmdk: malformed sparse headers', () => {
  it('truncated header (50 bytes): no descriptor, so no CID', () => {
    patchedCopy(dir, 'sparse.vmdk', 't50.vmdk', [], 50);
    expectBothRefuse(dir, 't50.vmdk', 'vmdk', vmdk, /^Invalid argument/, 'Invalid argument');
  });

  it('truncated header (512 bytes): the grains are past the end', () => {
    patchedCopy(dir, 'sparse.vmdk', 't512.vmdk', [], 512);
    expectBothRefuse(dir, 't512.vmdk', 'vmdk', vmdk, 'File truncated, expecting at least');
  });

  it('a file shorter than the magic: read as a (zero-padded) sector', () => {
    writeText(dir, 't3.vmdk', Buffer.from('KDM'));
    expectBothRefuse(dir, 't3.vmdk', 'vmdk', vmdk, 'invalid VMDK image descriptor');
  });

  it('an empty file', () => {
    writeText(dir, 't0.vmdk', Buffer.alloc(0));
    expectBothRefuse(dir, 't0.vmdk', 'vmdk', vmdk, 'File is too small, not a valid image');
  });

  it('L2 table size too big', () => {
    patchedCopy(dir, 'sparse.vmdk', 'l2.vmdk', [[KDMV.numGtesPerGt, le32(513)]]);
    expectBothRefuse(dir, 'l2.vmdk', 'vmdk', vmdk, 'L2 table size too big');
  });

  it('zero L1 entry size', () => {
    patchedCopy(dir, 'sparse.vmdk', 'l1e.vmdk', [[KDMV.granularity, le64(0)]]);
    expectBothRefuse(dir, 'l1e.vmdk', 'vmdk', vmdk, 'L1 entry size is invalid');
  });

  it('absurd granularity', () => {
    patchedCopy(dir, 'sparse.vmdk', 'gran.vmdk', [
      [KDMV.granularity, le64(0x400000)],
      [KDMV.numGtesPerGt, le32(1)],
    ]);
    expectBothRefuse(dir, 'gran.vmdk', 'vmdk', vmdk, 'Invalid granularity, image may be corrupt');
  });

  it('L1 table too big', () => {
    patchedCopy(dir, 'sparse.vmdk', 'l1big.vmdk', [
      [KDMV.capacity, le64(1n << 27n)],
      [KDMV.granularity, le64(1)],
      [KDMV.numGtesPerGt, le32(1)],
    ]);
    expectBothRefuse(dir, 'l1big.vmdk', 'vmdk', vmdk, 'L1 size too big');
  });

  it('unsupported version', () => {
    patchedCopy(dir, 'sparse.vmdk', 'v4.vmdk', [[KDMV.version, le32(4)]]);
    const e = expectBothRefuse(dir, 'v4.vmdk', 'vmdk', vmdk, 'Unsupported VMDK version 4');
    expect(e.code).toBe('unsupported-feature');
  });

  it('grain directory "at the end" without a valid footer', () => {
    patchedCopy(dir, 'stream.vmdk', 'footer.vmdk', [[KDMV.gdOffset, le64(0xffffffffffffffffn)]]);
    expectBothRefuse(dir, 'footer.vmdk', 'vmdk', vmdk, 'Invalid footer');
  });

  it('an L1 table size that wraps to 0 in 32 bits passes, as in qemu', () => {
    patchedCopy(dir, 'sparse.vmdk', 'l1wrap.vmdk', [
      [KDMV.capacity, le64(1n << 40n)],
      [KDMV.granularity, le64(1)],
      [KDMV.numGtesPerGt, le32(1)],
    ]);
    const parsed = parseFile('l1wrap.vmdk');
    expectLikeQemu(parsed, qemuInfo(dir, 'l1wrap.vmdk'), vmdkFormatSpecific(parsed, 'l1wrap.vmdk'));
  });

  it('a grain directory offset no read can reach', () => {
    patchedCopy(dir, 'sparse.vmdk', 'gd.vmdk', [[KDMV.gdOffset, le64((1n << 54n) - 1n)]]);
    expectBothRefuse(dir, 'gd.vmdk', 'vmdk', vmdk, /Could not read l1 table .*Input\/output error/, 'Could not read l1 table');
  });

  it('a huge descriptor size is ignored, as qemu ignores it', () => {
    patchedCopy(dir, 'sparse.vmdk', 'descsize.vmdk', [[KDMV.descSize, le64(0xffffffffffffn)]]);
    const parsed = parseFile('descsize.vmdk');
    expectLikeQemu(parsed, qemuInfo(dir, 'descsize.vmdk'), vmdkFormatSpecific(parsed, 'descsize.vmdk'));
  });

  it('capacity 0 with a descriptor offset past the end of the file', () => {
    patchedCopy(dir, 'sparse.vmdk', 'descpast.vmdk', [
      [KDMV.capacity, le64(0)],
      [KDMV.descOffset, le64(1n << 30n)],
    ]);
    expectBothRefuse(dir, 'descpast.vmdk', 'vmdk', vmdk, 'invalid VMDK image descriptor');
  });

  it('capacity 0 with a descriptor offset no read can reach', () => {
    patchedCopy(dir, 'sparse.vmdk', 'descfar.vmdk', [
      [KDMV.capacity, le64(0)],
      [KDMV.descOffset, le64((1n << 54n) - 1n)],
    ]);
    expectBothRefuse(dir, 'descfar.vmdk', 'vmdk', vmdk, 'Could not read from file: Input/output error');
  });

  it('a capacity too large for qemu', () => {
    patchedCopy(dir, 'sparse.vmdk', 'cap.vmdk', [
      [KDMV.capacity, le64(1n << 62n)],
      [KDMV.granularity, le64(0x200000)],
      [KDMV.numGtesPerGt, le32(512)],
    ]);
    expectBothRefuse(dir, 'cap.vmdk', 'vmdk', vmdk, "Can't get image size", 'File too large');
  });

  it('random bytes in memory never read past the budget', () => {
    for (let seed = 1; seed < 200; seed++) {
      const b = Buffer.alloc(4096 + seed * 7);
      let x = seed;
      for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
      b.write('KDMV', 0, 'latin1');
      const src = bufferSource(b);
      try {
        vmdk.parse(src);
      } catch {
        /* refusals are expected */
      }
      expect(src.bytesRead).toBeLessThanOrEqual(READ_BUDGET);
    }
  });
});

describe('vmdk: malformed descriptors', () => {
  it('an absurd extent size', () => {
    const f = writeText(dir, 'absurd.vmdk', descriptor(['RW 99999999999999999999 FLAT "flat-flat.vmdk" 0']));
    expectBothRefuse(dir, f, 'vmdk', vmdk, 'Could not refresh total sector count: File too large');
  });

  it('extent sizes whose sum no longer fits', () => {
    const line = 'RW 9223372036854775807 FLAT "flat-flat.vmdk" 0';
    const f = writeText(dir, 'sum.vmdk', descriptor([line, line]));
    const e = fileRefusal(vmdk, at(f));
    expect(e.message).toContain('File too large');
  });

  it('a size qemu accepts but a number cannot hold exactly', () => {
    const f = writeText(dir, 'big.vmdk', descriptor(['RW 9999999999999999 FLAT "flat-flat.vmdk" 0']));
    // qemu's text, not its parsed JSON: a double would round the digits compared here.
    const printed = /"virtual-size": (\d+)/.exec(qemuImg(dir, 'info', '--output=json', f))![1]!;
    expect(BigInt(printed)).toBe(9999999999999999n * 512n);
    expect(probeAndParse(at(f), vmdk).parsed.header.virtualSize).toBe(printed);
  });

  it('a FLAT extent without its offset', () => {
    const f = writeText(dir, 'nooff.vmdk', descriptor(['RW 100 FLAT "flat-flat.vmdk"']));
    expectBothRefuse(
      dir,
      f,
      'vmdk',
      vmdk,
      /^Invalid extent line: RW 100 FLAT "flat-flat.vmdk"$/,
      'Invalid extent line: RW 100 FLAT "flat-flat.vmdk"\n',
    );
  });

  it('an invalid extent line read from the blank line before it (qemu quotes the blank line)', () => {
    const f = writeText(dir, 'blankline.vmdk', 'version=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 100 FLAT "x"\n');
    expectBothRefuse(dir, f, 'vmdk', vmdk, /^Invalid extent line: $/, 'Invalid extent line: \n');
  });

  it('an extent file name longer than sscanf takes', () => {
    const f = writeText(dir, 'longname.vmdk', descriptor([`RW 100 FLAT "${'a'.repeat(600)}" 0`]));
    expectBothRefuse(dir, f, 'vmdk', vmdk, 'Invalid extent line: RW 100 FLAT "aaaa');
  });

  it('a VMFS extent with an offset', () => {
    const f = writeText(dir, 'vmfs.vmdk', descriptor(['RW 100 VMFS "flat-flat.vmdk" 5'], { createType: 'vmfs' }));
    expectBothRefuse(dir, f, 'vmdk', vmdk, 'Invalid extent line');
  });

  it('no createType', () => {
    const f = writeText(dir, 'noct.vmdk', 'version=1\nCID=1\nparentCID=ffffffff\nRW 100 FLAT "flat-flat.vmdk" 0\n');
    expectBothRefuse(dir, f, 'vmdk', vmdk, 'invalid VMDK image descriptor');
  });

  it('an unsupported createType', () => {
    const f = writeText(dir, 'badct.vmdk', descriptor(['RW 100 FLAT "flat-flat.vmdk" 0'], { createType: 'monolithicSparse' }));
    expectBothRefuse(dir, f, 'vmdk', vmdk, "Unsupported image type 'monolithicSparse'");
  });

  it('no CID', () => {
    const f = writeText(dir, 'nocid.vmdk', 'version=1\ncreateType="monolithicFlat"\nRW 100 FLAT "flat-flat.vmdk" 0\n');
    expectBothRefuse(dir, f, 'vmdk', vmdk, /^Invalid argument/, 'Invalid argument');
  });

  it('a parentFileNameHint without its closing quote', () => {
    const f = writeText(dir, 'noquote.vmdk', descriptor(['RW 100 FLAT "flat-flat.vmdk" 0', 'parentFileNameHint="base.vmdk']));
    expectBothRefuse(dir, f, 'vmdk', vmdk, /^Invalid argument/, 'Invalid argument');
  });

  it('no usable extent (qemu-img aborts on it)', () => {
    const f = writeText(dir, 'noext.vmdk', descriptor(['RDONLY 100 FLAT "flat-flat.vmdk" 0']));
    expect(fileRefusal(vmdk, at(f)).message).toContain('no usable extent');
  });

  it('thousands of extents', () => {
    const lines = Array.from({ length: 2000 }, () => 'RW 1 FLAT "flat-flat.vmdk" 0');
    const e = bytesRefusal(vmdk, Buffer.from(descriptor(lines)));
    expect(e.code).toBe('unsupported-feature');
  });

  it('a long run of digits stays cheap', () => {
    const text = descriptor([`RW ${'0'.repeat(900_000)}1 FLAT "f" 0`]);
    const t0 = Date.now();
    const src = bufferSource(Buffer.from(text));
    const parsed = vmdk.parse(src);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(parsed.header.virtualSize).toBe(512);
    expect(src.bytesRead).toBeLessThanOrEqual(READ_BUDGET);
  });

  it('blank lines before an extent line: sscanf reads the line again from each', () => {
    // Each blank line start parses the next extent line once more, in qemu as here.
    const few = writeText(
      dir,
      'blank3.vmdk',
      'version=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n\n\nRW 100 FLAT "flat-flat.vmdk" 0\n',
    );
    const parsed = parseFile(few);
    expect(parsed.header.fields.extent_count).toBe(4);
    expectLikeQemu(parsed, qemuInfo(dir, few), vmdkFormatSpecific(parsed, few));
    // Half a million of them: refused quickly instead of opening the extent 500000 times.
    const t0 = Date.now();
    const e = bytesRefusal(vmdk, Buffer.from(descriptor([`${'\n'.repeat(500_000)}RW 1 FLAT "f" 0`])));
    expect(e.code).toBe('unsupported-feature');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a missing extent file, once the extents are opened', () => {
    const f = writeText(dir, 'missing.vmdk', descriptor(['RW 100 FLAT "nonexistent.raw" 0']));
    const parsed = parseFile(f);
    expect(() => resolveInDir(parsed)).toThrow("Could not open 'nonexistent.raw': No such file or directory");
    expect(qemuRefusalText(f)).toContain("Could not open 'nonexistent.raw': No such file or directory");
  });

  it('a SPARSE extent that is not a vmdk', () => {
    writeText(dir, 'plain.raw', Buffer.alloc(4096));
    const f = writeText(dir, 'notvmdk.vmdk', descriptor(['RW 8 SPARSE "plain.raw"'], { createType: 'twoGbMaxExtentSparse' }));
    const parsed = parseFile(f);
    expect(() => resolveInDir(parsed)).toThrow('Image not in VMDK format');
    expect(qemuRefusalText(f)).toContain('Image not in VMDK format');
  });

  it('a SPARSE extent with a broken header', () => {
    patchedCopy(dir, 'split-s001.vmdk', 'bad-s001.vmdk', [[KDMV.numGtesPerGt, le32(1000)]]);
    const f = writeText(dir, 'badext.vmdk', descriptor(['RW 4194304 SPARSE "bad-s001.vmdk"'], { createType: 'twoGbMaxExtentSparse' }));
    const parsed = parseFile(f);
    expect(() => resolveInDir(parsed)).toThrow('L2 table size too big');
    expect(qemuRefusalText(f)).toContain('L2 table size too big');
  });
});

function qemuRefusalText(file: string): string {
  try {
    qemuImg(dir, 'info', '--output=json', file);
  } catch (e) {
    return String((e as Error & { stderr?: string }).stderr ?? (e as Error).message);
  }
  throw new Error(`qemu-img opened ${file}`);
}
