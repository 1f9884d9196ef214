import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vhdx, vhdxCrc32c } from '../../../electron/node/core/formats/vhdx.js';
import { qemuImg, qemuInfo, tempDir } from '../../support/qemu.js';
import { expectBothRefuse, expectLikeQemu, patchedCopy, probeAndParse } from '../raw/common.js';
import { GUID, MiB, VhdxEdit, guidBytes, makeVhdx } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-vhdx-'));
  makeVhdx(dir, 'dynamic.vhdx', '1G');
  makeVhdx(dir, 'fixed.vhdx', '16M', ['subformat=fixed', 'block_size=1M', 'block_state_zero=off']);
  const data = Buffer.alloc(3 * MiB);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i + 1, i);
  fs.writeFileSync(path.join(dir, 'data.raw'), data);
  fs.truncateSync(path.join(dir, 'data.raw'), 64 * MiB);
  qemuImg(dir, 'convert', '-O', 'vhdx', '-o', 'block_size=1M', 'data.raw', 'data.vhdx');
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);
const edit = (from: string, to: string) => {
  fs.copyFileSync(at(from), at(to));
  return new VhdxEdit(at(to));
};

function check(name: string): void {
  const { probed, parsed } = probeAndParse(at(name), vhdx);
  expect(probed).toBe('vhdx');
  expectLikeQemu(parsed, qemuInfo(dir, name));
}

describe('vhdx: images made by qemu-img', () => {
  it('dynamic', () => {
    check('dynamic.vhdx');
    const { parsed } = probeAndParse(at('dynamic.vhdx'), vhdx);
    expect(parsed.header.fields.logical_sector_size).toBe(512);
    expect(parsed.header.fields.block_size).toBe(8 * MiB);
    expect(parsed.backing).toBeNull();
  });

  it('fixed (every block present)', () => {
    check('fixed.vhdx');
    expect(probeAndParse(at('fixed.vhdx'), vhdx).parsed.header.fields.present_blocks).toBe(16);
  });

  it('with data blocks', () => {
    check('data.vhdx');
    expect(probeAndParse(at('data.vhdx'), vhdx).parsed.header.fields.present_blocks).toBe(3);
  });

  it('one broken header: the other one is used', () => {
    edit('dynamic.vhdx', 'h1bad.vhdx')
      .header((h) => h.write('xead'), [0], false)
      .save();
    check('h1bad.vhdx');
  });

  it('a virtual size that is not a whole number of sectors is rounded down', () => {
    const e = edit('dynamic.vhdx', 'odd.vhdx');
    e.b.writeBigUInt64LE(1000n, e.item(GUID.virtualSize));
    e.save();
    check('odd.vhdx');
  });

  it('a log GUID with nothing valid in the log: qemu opens it', () => {
    edit('dynamic.vhdx', 'emptylog.vhdx')
      .header((h) => h.fill(7, 48, 64))
      .save();
    check('emptylog.vhdx');
  });
});

describe('vhdx: malformed images', () => {
  it('truncated headers', () => {
    patchedCopy(dir, 'dynamic.vhdx', 'trunc.vhdx', [], 4096);
    expectBothRefuse(dir, 'trunc.vhdx', 'vhdx', vhdx, 'No valid VHDX header found');
  });

  it('truncated before the region table', () => {
    patchedCopy(dir, 'dynamic.vhdx', 'trunc2.vhdx', [], 192 * 1024);
    expectBothRefuse(dir, 'trunc2.vhdx', 'vhdx', vhdx, /^Invalid argument: region table checksum/, 'Invalid argument');
  });

  it('no file identifier', () => {
    patchedCopy(dir, 'dynamic.vhdx', 'sig.vhdx', [[0, Buffer.from('vhdxfilX')]]);
    expectBothRefuse(dir, 'sig.vhdx', 'vhdx', vhdx, /^Invalid argument/, 'Invalid argument');
  });

  it('both headers broken', () => {
    edit('dynamic.vhdx', 'hbad.vhdx')
      .header((h) => h.write('xead'))
      .save();
    expectBothRefuse(dir, 'hbad.vhdx', 'vhdx', vhdx, 'No valid VHDX header found');
  });

  it('both headers of version 2', () => {
    edit('dynamic.vhdx', 'hver.vhdx')
      .header((h) => h.writeUInt16LE(2, 66))
      .save();
    expectBothRefuse(dir, 'hver.vhdx', 'vhdx', vhdx, 'No valid VHDX header found');
  });

  it('two different headers with the same sequence number', () => {
    edit('dynamic.vhdx', 'hseq.vhdx')
      .header((h) => h.writeBigUInt64LE(5n, 8))
      .header((h) => h.fill(1, 16, 32), [1])
      .save();
    expectBothRefuse(dir, 'hseq.vhdx', 'vhdx', vhdx, 'No valid VHDX header found');
  });

  it('a log offset that is not a multiple of 1 MiB', () => {
    edit('dynamic.vhdx', 'logoff.vhdx')
      .header((h) => h.writeBigUInt64LE(BigInt(MiB + 4096), 72))
      .save();
    expectBothRefuse(dir, 'logoff.vhdx', 'vhdx', vhdx, /^Invalid argument: log offset/, 'Invalid argument');
  });

  it('a log version other than 0', () => {
    edit('dynamic.vhdx', 'logver.vhdx')
      .header((h) => h.writeUInt16LE(1, 64))
      .save();
    expectBothRefuse(dir, 'logver.vhdx', 'vhdx', vhdx, /^Invalid argument: log version/, 'Invalid argument');
  });

  it('a log that needs replaying: refused read-only, as qemu-img info does', () => {
    const e = edit('dynamic.vhdx', 'dirtylog.vhdx');
    const guid = Buffer.alloc(16, 0x5a);
    e.header((h) => guid.copy(h, 48));
    const logOffset = Number(e.b.readBigUInt64LE(64 * 1024 + 72));
    const entry = e.b.subarray(logOffset, logOffset + 4096);
    entry.fill(0);
    entry.write('loge', 0, 'latin1');
    entry.writeUInt32LE(4096, 8); // entry length
    entry.writeBigUInt64LE(1n, 16); // sequence number
    entry.writeUInt32LE(0, 24); // descriptor count
    guid.copy(entry, 32);
    entry.writeBigUInt64LE(BigInt(e.b.length), 48); // flushed file offset
    entry.writeBigUInt64LE(BigInt(e.b.length), 56); // last file offset
    entry.writeUInt32LE(vhdxCrc32c(entry, 4), 4);
    e.save();
    expectBothRefuse(dir, 'dirtylog.vhdx', 'vhdx', vhdx, 'opened read-only, but contains a log that needs to be replayed');
  });

  it('region table checksum', () => {
    edit('dynamic.vhdx', 'rtcrc.vhdx')
      .regionTable((rt) => rt.writeUInt32LE(3, 12), false)
      .save();
    expectBothRefuse(dir, 'rtcrc.vhdx', 'vhdx', vhdx, /^Invalid argument: region table checksum/, 'Invalid argument');
  });

  it('region table signature', () => {
    edit('dynamic.vhdx', 'rtsig.vhdx')
      .regionTable((rt) => rt.write('xegi'))
      .save();
    expectBothRefuse(dir, 'rtsig.vhdx', 'vhdx', vhdx, /^Invalid argument: region table signature/, 'Invalid argument');
  });

  it('region table with too many entries', () => {
    edit('dynamic.vhdx', 'rtcount.vhdx')
      .regionTable((rt) => rt.writeUInt32LE(3000, 8))
      .save();
    expectBothRefuse(dir, 'rtcount.vhdx', 'vhdx', vhdx, /^Invalid argument: region table has 3000/, 'Invalid argument');
  });

  it('overlapping regions', () => {
    const e = edit('dynamic.vhdx', 'overlap.vhdx');
    const meta = e.region(GUID.metadata);
    const bat = e.region(GUID.bat);
    e.regionTable((rt) => rt.writeBigUInt64LE(BigInt(meta.offset), 16 + bat.index * 32 + 16)).save();
    expectBothRefuse(dir, 'overlap.vhdx', 'vhdx', vhdx, /overlaps with region/, 'Invalid argument');
  });

  it('a region overlapping the log', () => {
    const e = edit('dynamic.vhdx', 'overlaplog.vhdx');
    const bat = e.region(GUID.bat);
    e.regionTable((rt) => rt.writeBigUInt64LE(BigInt(MiB), 16 + bat.index * 32 + 16)).save();
    expectBothRefuse(dir, 'overlaplog.vhdx', 'vhdx', vhdx, /overlaps with region/, 'Invalid argument');
  });

  it('a metadata region past the end of the file', () => {
    const e = edit('dynamic.vhdx', 'metapast.vhdx');
    const meta = e.region(GUID.metadata);
    e.regionTable((rt) => rt.writeBigUInt64LE(1n << 40n, 16 + meta.index * 32 + 16)).save();
    expectBothRefuse(dir, 'metapast.vhdx', 'vhdx', vhdx, /^Invalid argument: metadata table signature/, 'Invalid argument');
  });

  it('a metadata region no read can reach', () => {
    const e = edit('dynamic.vhdx', 'metafar.vhdx');
    const meta = e.region(GUID.metadata);
    e.regionTable((rt) => rt.writeBigUInt64LE(0x7fffffffffff0000n, 16 + meta.index * 32 + 16)).save();
    expectBothRefuse(dir, 'metafar.vhdx', 'vhdx', vhdx, /^Input\/output error/, 'Input/output error');
  });

  it('an unknown required region', () => {
    const e = edit('dynamic.vhdx', 'rtreq.vhdx');
    e.regionTable((rt) => {
      const n = rt.readUInt32LE(8);
      const en = 16 + n * 32;
      guidBytes('01234567-89ab-cdef-0123-456789abcdef').copy(rt, en);
      rt.writeBigUInt64LE(BigInt(100 * MiB), en + 16);
      rt.writeUInt32LE(MiB, en + 24);
      rt.writeUInt32LE(1, en + 28);
      rt.writeUInt32LE(n + 1, 8);
    }).save();
    const err = expectBothRefuse(dir, 'rtreq.vhdx', 'vhdx', vhdx, /^Operation not supported/, 'Operation not supported');
    expect(err.code).toBe('unsupported-feature');
  });

  it('no BAT region', () => {
    const e = edit('dynamic.vhdx', 'nobat.vhdx');
    const bat = e.region(GUID.bat);
    e.regionTable((rt) => rt.fill(0x11, 16 + bat.index * 32, 16 + bat.index * 32 + 16)).save();
    expectBothRefuse(dir, 'nobat.vhdx', 'vhdx', vhdx, /^Invalid argument: region table lacks the BAT/, 'Invalid argument');
  });

  it('a metadata table with too many entries', () => {
    const e = edit('dynamic.vhdx', 'mtcount.vhdx');
    e.metadataTable().writeUInt16LE(4000, 10);
    e.save();
    expectBothRefuse(dir, 'mtcount.vhdx', 'vhdx', vhdx, /^Invalid argument: metadata table has 4000/, 'Invalid argument');
  });

  it('a metadata item offset far past the end of the file (reads as zeros)', () => {
    const e = edit('dynamic.vhdx', 'itempast.vhdx');
    const t = e.metadataTable();
    const n = t.readUInt16LE(10);
    for (let i = 0; i < n; i++) {
      if (t.subarray(32 + i * 32, 48 + i * 32).equals(guidBytes(GUID.fileParams))) t.writeUInt32LE(0xfff00000, 32 + i * 32 + 16);
    }
    e.save();
    expectBothRefuse(dir, 'itempast.vhdx', 'vhdx', vhdx, /^Invalid argument: block size 0/, 'Invalid argument');
  });

  it('bad block size', () => {
    const e = edit('dynamic.vhdx', 'bsize.vhdx');
    e.b.writeUInt32LE(3 * MiB, e.item(GUID.fileParams));
    e.save();
    expectBothRefuse(dir, 'bsize.vhdx', 'vhdx', vhdx, /^Invalid argument: 6144 sectors per block/, 'Invalid argument');
    const e2 = edit('dynamic.vhdx', 'bsize2.vhdx');
    e2.b.writeUInt32LE(512 * MiB, e2.item(GUID.fileParams));
    e2.save();
    expectBothRefuse(dir, 'bsize2.vhdx', 'vhdx', vhdx, /^Invalid argument: block size 536870912 is out of range/, 'Invalid argument');
  });

  it('logical sector sizes other than 512 (4096 is valid VHDX, but qemu 7.2 refuses it)', () => {
    for (const size of [4096, 1024]) {
      const e = edit('dynamic.vhdx', `lss${size}.vhdx`);
      e.b.writeUInt32LE(size, e.item(GUID.logicalSector));
      e.save();
      const err = expectBothRefuse(
        dir,
        `lss${size}.vhdx`,
        'vhdx',
        vhdx,
        /^Operation not supported: logical sector size/,
        'Operation not supported',
      );
      expect(err.code).toBe('unsupported-feature');
    }
  });

  it('a zero virtual size', () => {
    const e = edit('dynamic.vhdx', 'zero.vhdx');
    e.b.writeBigUInt64LE(0n, e.item(GUID.virtualSize));
    e.save();
    expectBothRefuse(dir, 'zero.vhdx', 'vhdx', vhdx, /^Invalid argument: the BAT region/, 'Invalid argument');
  });

  it('"has parent" without a parent locator', () => {
    const e = edit('dynamic.vhdx', 'hasparent.vhdx');
    e.b.writeUInt32LE(2, e.item(GUID.fileParams) + 4);
    e.save();
    expectBothRefuse(dir, 'hasparent.vhdx', 'vhdx', vhdx, /^Invalid argument: file parameters say "has parent"/, 'Invalid argument');
  });

  it('a differencing image (parent locator): qemu cannot open it; the parent is named in the error', () => {
    const e = edit('dynamic.vhdx', 'diff.vhdx');
    const t = e.metadataTable();
    const n = t.readUInt16LE(10);
    // A parent locator item in free space of the metadata region.
    const itemOffset = 512 * 1024;
    const loc = Buffer.alloc(4096);
    guidBytes('b04aefb7-d19e-4a81-b789-25b8e9445913').copy(loc, 0);
    loc.writeUInt16LE(1, 18);
    const key = Buffer.from('relative_path', 'utf16le');
    const value = Buffer.from('.\\base.vhdx', 'utf16le');
    loc.writeUInt32LE(64, 20);
    loc.writeUInt32LE(64 + key.length, 24);
    loc.writeUInt16LE(key.length, 28);
    loc.writeUInt16LE(value.length, 30);
    key.copy(loc, 64);
    value.copy(loc, 64 + key.length);
    const meta = e.region(GUID.metadata);
    loc.copy(e.b, meta.offset + itemOffset);
    const en = 32 + n * 32;
    guidBytes(GUID.parentLocator).copy(t, en);
    t.writeUInt32LE(itemOffset, en + 16);
    t.writeUInt32LE(4096, en + 20);
    t.writeUInt32LE(4 | 2, en + 24);
    t.writeUInt16LE(n + 1, 10);
    e.b.writeUInt32LE(2, e.item(GUID.fileParams) + 4);
    e.save();
    const err = expectBothRefuse(dir, 'diff.vhdx', 'vhdx', vhdx, /relative_path=".\\\\base.vhdx"/, 'Operation not supported');
    expect(err.code).toBe('unsupported-feature');
  });

  it('a BAT region too small for the disk', () => {
    const e = edit('dynamic.vhdx', 'batsmall.vhdx');
    e.b.writeBigUInt64LE(1n << 50n, e.item(GUID.virtualSize));
    e.save();
    expectBothRefuse(dir, 'batsmall.vhdx', 'vhdx', vhdx, /^Invalid argument: the BAT region/, 'Invalid argument');
  });

  it('a BAT entry pointing past the end of the file', () => {
    const e = edit('data.vhdx', 'batpast.vhdx');
    const bat = e.region(GUID.bat);
    e.b.writeBigUInt64LE((1n << 40n) | 6n, bat.offset);
    e.save();
    expectBothRefuse(dir, 'batpast.vhdx', 'vhdx', vhdx, /points after end of file/, 'Invalid argument');
  });

  it('a truncated file with allocated blocks', () => {
    const size = fs.statSync(at('data.vhdx')).size;
    patchedCopy(dir, 'data.vhdx', 'datatrunc.vhdx', [], size - 4096);
    expectBothRefuse(dir, 'datatrunc.vhdx', 'vhdx', vhdx, /end offset .* points after end of file/, 'Invalid argument');
  });

  it('a BAT entry inside the metadata region', () => {
    const e = edit('data.vhdx', 'batmeta.vhdx');
    const bat = e.region(GUID.bat);
    const meta = e.region(GUID.metadata);
    e.b.writeBigUInt64LE(BigInt(meta.offset) | 6n, bat.offset);
    e.save();
    expectBothRefuse(dir, 'batmeta.vhdx', 'vhdx', vhdx, /overlaps with region/, 'Invalid argument');
  });
});
