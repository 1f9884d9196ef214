import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vdi } from '../../../electron/node/core/formats/vdi.js';
import { qemuInfo, tempDir } from '../../support/qemu.js';
import { expectBothRefuse, expectLikeQemu, le32, le64, patchedCopy, probeAndParse } from '../raw/common.js';
import { VDI, makeVdi } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-vdi-'));
  makeVdi(dir, 'dynamic.vdi', '1G');
  makeVdi(dir, 'static.vdi', '64M', true);
  makeVdi(dir, 'odd.vdi', '1000000');
});

afterAll(() => cleanup());

function check(name: string): void {
  const { probed, parsed } = probeAndParse(path.join(dir, name), vdi);
  expect(probed).toBe('vdi');
  expectLikeQemu(parsed, qemuInfo(dir, name));
}

describe('vdi: images made by qemu-img', () => {
  it('dynamic', () => {
    check('dynamic.vdi');
    const { parsed } = probeAndParse(path.join(dir, 'dynamic.vdi'), vdi);
    expect(parsed.header.fields.image_type).toBe('dynamic');
    expect(parsed.backing).toBeNull();
  });

  it('static', () => {
    check('static.vdi');
    expect(probeAndParse(path.join(dir, 'static.vdi'), vdi).parsed.header.fields.image_type).toBe('static');
  });

  it('a size that is not a whole number of sectors is rounded up', () => {
    patchedCopy(dir, 'dynamic.vdi', 'oddsize.vdi', [[VDI.diskSize, le64(1000001)]]);
    check('oddsize.vdi');
    check('odd.vdi');
  });

  it('a bad header size is ignored, as qemu ignores it', () => {
    patchedCopy(dir, 'dynamic.vdi', 'hsize.vdi', [[VDI.headerSize, le32(7)]]);
    check('hsize.vdi');
    patchedCopy(dir, 'dynamic.vdi', 'hsize2.vdi', [[VDI.headerSize, le32(0xffffffff)]]);
    check('hsize2.vdi');
  });

  it('a block map past the end of the file reads as unallocated, as in qemu', () => {
    patchedCopy(dir, 'dynamic.vdi', 'bmap.vdi', [[VDI.offsetBmap, le32(0xfffffe00)]]);
    check('bmap.vdi');
  });
});

describe('vdi: malformed headers', () => {
  it('truncated header (qemu reads zeros for the rest)', () => {
    patchedCopy(dir, 'dynamic.vdi', 'trunc.vdi', [], 300);
    expectBothRefuse(dir, 'trunc.vdi', 'vdi', vdi, 'unsupported VDI image (sector size 0 is not 512)');
  });

  it('bad signature', () => {
    patchedCopy(dir, 'dynamic.vdi', 'sig.vdi', [[VDI.signature, le32(0xbeda1000)]]);
    expectBothRefuse(dir, 'sig.vdi', 'vdi', vdi, 'Image not in VDI format (bad signature beda1000)');
  });

  it('bad version', () => {
    patchedCopy(dir, 'dynamic.vdi', 'ver.vdi', [[VDI.version, le32(0x00010000)]]);
    expectBothRefuse(dir, 'ver.vdi', 'vdi', vdi, 'unsupported VDI image (version 1.0)');
  });

  it('unaligned block map', () => {
    patchedCopy(dir, 'dynamic.vdi', 'ubmap.vdi', [[VDI.offsetBmap, le32(0x201)]]);
    expectBothRefuse(dir, 'ubmap.vdi', 'vdi', vdi, 'unsupported VDI image (unaligned block map offset 0x201)');
  });

  it('unaligned data', () => {
    patchedCopy(dir, 'dynamic.vdi', 'udata.vdi', [[VDI.offsetData, le32(0x1001)]]);
    expectBothRefuse(dir, 'udata.vdi', 'vdi', vdi, 'unsupported VDI image (unaligned data offset 0x1001)');
  });

  it('bad block size', () => {
    patchedCopy(dir, 'dynamic.vdi', 'bsize.vdi', [[VDI.blockSize, le32(4096)]]);
    expectBothRefuse(dir, 'bsize.vdi', 'vdi', vdi, 'unsupported VDI image (block size 4096 is not 1048576)');
  });

  it('huge block count', () => {
    patchedCopy(dir, 'dynamic.vdi', 'blocks.vdi', [[VDI.blocksInImage, le32(0x3fffffff)]]);
    expectBothRefuse(dir, 'blocks.vdi', 'vdi', vdi, 'unsupported VDI image (too many blocks 1073741823, max is 536870784)');
  });

  it('a disk larger than its block map', () => {
    patchedCopy(dir, 'dynamic.vdi', 'room.vdi', [[VDI.blocksInImage, le32(1)]]);
    expectBothRefuse(dir, 'room.vdi', 'vdi', vdi, 'unsupported VDI image (disk size 1073741824, image bitmap has room for 1048576)');
  });

  it('a disk size beyond what qemu supports', () => {
    patchedCopy(dir, 'dynamic.vdi', 'huge.vdi', [[VDI.diskSize, le64(1n << 60n)]]);
    expectBothRefuse(
      dir,
      'huge.vdi',
      'vdi',
      vdi,
      'Unsupported VDI image size (size is 0x1000000000000000, max supported is 0x1fffff8000000)',
    );
  });

  it('a parent UUID (differencing VDI)', () => {
    patchedCopy(dir, 'dynamic.vdi', 'parent.vdi', [[VDI.uuidParent, Buffer.from([1])]]);
    const e = expectBothRefuse(dir, 'parent.vdi', 'vdi', vdi, 'unsupported VDI image (non-NULL parent UUID)');
    expect(e.code).toBe('unsupported-feature');
  });

  it('a link UUID', () => {
    patchedCopy(dir, 'dynamic.vdi', 'link.vdi', [[VDI.uuidLink + 15, Buffer.from([1])]]);
    expectBothRefuse(dir, 'link.vdi', 'vdi', vdi, 'unsupported VDI image (non-NULL link UUID)');
  });
});
