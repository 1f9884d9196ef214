// Malformed qcow2 images: qemu-img images with bytes patched. Where qemu-img refuses the file, the
// module must refuse it with qemu's message; where qemu-img opens it, the module must open it and
// report the problem. Every case stays within the read bound.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qcow2 } from '../../../electron/node/core/formats/qcow2/index.js';
import { tempDir } from '../../support/qemu.js';
import {
  EXT,
  type Ext,
  be32,
  be64,
  codes,
  featureEntry,
  likeQemu,
  makeLuksQcow2,
  mustRefuse,
  patchFile,
  qemuImg,
  qemuRefuses,
  qemuVerdict,
  readExtensions,
  rewriteHeaderArea,
  u8,
} from './fixtures.js';

let dir: string;
let cleanup: () => void;
const CLUSTER = 65536;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-qcow2-bad-'));
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'plain.qcow2', '1M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'over.qcow2');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=data.raw', 'df.qcow2', '1M');
});
afterAll(() => cleanup());

const harness = likeQemu(qcow2, 'qcow2', () => dir);
const { variant, accepted: acceptedLikeQemu } = harness;
/** Both refuse it with the same message; the module says invalid-header unless told otherwise. */
const refusedLikeQemu = (file: string, message: string, code: 'invalid-header' | 'unsupported-feature' = 'invalid-header') =>
  harness.refused(file, message, code);

describe('malformed qcow2 headers qemu refuses', () => {
  it('truncated file (header cut at 50 bytes)', () => {
    const file = path.join(dir, 'trunc50.qcow2');
    fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'plain.qcow2')).subarray(0, 50));
    // qemu reads zeros past the end: header_length reads as 0.
    refusedLikeQemu(file, 'qcow2 header too short');
  });

  it('header_length huge', () => {
    const file = variant('plain.qcow2', 'hlhuge.qcow2', [[100, be32(0xfffffff8)]]);
    refusedLikeQemu(file, 'qcow2 header exceeds cluster size');
  });

  it('header_length not a multiple of 8 (extensions misaligned)', () => {
    const file = variant('plain.qcow2', 'hl108.qcow2', [[100, be32(108)]]);
    refusedLikeQemu(file, 'Header extension too large');
  });

  it('header_length < 104', () => {
    const file = variant('plain.qcow2', 'hl100.qcow2', [[100, be32(100)]]);
    refusedLikeQemu(file, 'qcow2 header too short');
  });

  it('extension length past the extension area', () => {
    const file = variant('plain.qcow2', 'extlong.qcow2');
    rewriteHeaderArea(file, [{ type: 0x12345678, data: Buffer.alloc(8), length: CLUSTER }]);
    refusedLikeQemu(file, 'Header extension too large');
  });

  it('extension chain with no end marker that runs past the area', () => {
    const file = variant('plain.qcow2', 'extrun.qcow2');
    const n = (CLUSTER - 112) / 8;
    const exts: Ext[] = Array.from({ length: n }, () => ({ type: 0x12345678, data: Buffer.alloc(0) }));
    exts[n - 1] = { type: 0x12345678, data: Buffer.alloc(0), length: 8 };
    rewriteHeaderArea(file, exts, { terminate: false });
    refusedLikeQemu(file, 'Header extension too large');
  });

  it('backing_file_offset past the first cluster', () => {
    const file = variant('over.qcow2', 'bfopast.qcow2', [[8, be64(CLUSTER + 1)]]);
    refusedLikeQemu(file, 'Invalid backing file offset');
  });

  it('backing file name longer than 1023 bytes', () => {
    const file = variant('over.qcow2', 'bflong.qcow2', [[16, be32(1024)]]);
    refusedLikeQemu(file, 'Backing file name too long');
  });

  it('backing file name running past the first cluster', () => {
    const file = variant('over.qcow2', 'bfcluster.qcow2', [
      [8, be64(CLUSTER - 10)],
      [16, be32(11)],
    ]);
    refusedLikeQemu(file, 'Backing file name too long');
  });

  it('cluster_bits 8', () => {
    refusedLikeQemu(variant('plain.qcow2', 'cb8.qcow2', [[20, be32(8)]]), 'Unsupported cluster size: 2^8');
  });

  it('cluster_bits 22', () => {
    refusedLikeQemu(variant('plain.qcow2', 'cb22.qcow2', [[20, be32(22)]]), 'Unsupported cluster size: 2^22');
  });

  it('version 4', () => {
    refusedLikeQemu(variant('plain.qcow2', 'v4.qcow2', [[4, be32(4)]]), 'Unsupported qcow2 version 4', 'unsupported-feature');
  });

  it('unknown incompatible feature bit', () => {
    const file = variant('plain.qcow2', 'incompat5.qcow2', [[72, be64(1n << 5n)]]);
    refusedLikeQemu(file, 'Unsupported qcow2 feature(s): Unknown incompatible feature: 20', 'unsupported-feature');
  });

  it('unknown incompatible feature bits, one named by the feature table', () => {
    const file = variant('plain.qcow2', 'incompatnamed.qcow2', [[72, be64((1n << 5n) | (1n << 40n))]]);
    const table = Buffer.concat([featureEntry(0, 0, 'dirty bit'), featureEntry(0, 5, 'shiny new thing'), featureEntry(1, 40, 'compat 40')]);
    rewriteHeaderArea(file, [{ type: EXT.featureTable, data: table }]);
    refusedLikeQemu(
      file,
      'Unsupported qcow2 feature(s): shiny new thing, Unknown incompatible feature: 10000000000',
      'unsupported-feature',
    );
  });

  it('crypt method 2 (LUKS) without its crypto header extension', () => {
    const file = variant('plain.qcow2', 'luksnoext.qcow2', [[32, be32(2)]]);
    const err = mustRefuse(qcow2, file);
    expect(err.message).toBe('Missing CRYPTO header for crypt method 2');
    // qemu-img 7.2 info crashes on this file (qemu proper refuses it with the message above).
    const v = qemuVerdict(dir, file, 'qcow2');
    expect(v.ok).toBe(false);
  });

  it('crypt method 3', () => {
    refusedLikeQemu(variant('plain.qcow2', 'crypt3.qcow2', [[32, be32(3)]]), 'Unsupported encryption method 3', 'unsupported-feature');
  });

  it('crypto header extension with the AES crypt method', () => {
    const file = variant('plain.qcow2', 'aesext.qcow2', [[32, be32(1)]]);
    rewriteHeaderArea(file, [{ type: EXT.crypto, data: Buffer.concat([be64(CLUSTER * 4), be64(4096)]) }]);
    refusedLikeQemu(file, 'CRYPTO header extension only expected with LUKS encryption method');
  });

  it('crypto header extension pointing past the end of the file', () => {
    const file = variant('plain.qcow2', 'lukspast.qcow2', [[32, be32(2)]]);
    rewriteHeaderArea(file, [{ type: EXT.crypto, data: Buffer.concat([be64(CLUSTER * 1000), be64(2 * 1024 * 1024)]) }]);
    refusedLikeQemu(file, 'Volume is not in LUKS format');
  });

  it('crypto header extension too short for a LUKS header', () => {
    const file = variant('plain.qcow2', 'luksshort.qcow2', [[32, be32(2)]]);
    rewriteHeaderArea(file, [{ type: EXT.crypto, data: Buffer.concat([be64(CLUSTER), be64(100)]) }]);
    refusedLikeQemu(file, 'Request for data outside of extension header');
  });

  it('LUKS header with a corrupted key slot state, and with an unknown hash', () => {
    const luks = makeLuksQcow2(dir, 'luks.qcow2');
    const ext = readExtensions(luks).find((e) => e.type === EXT.crypto)!;
    const luksOffset = Number(ext.data.readBigUInt64BE(0));
    const slot1 = variant('luks.qcow2', 'luksslot.qcow2', [[luksOffset + 208 + 48, be32(0x12345678)]]);
    refusedLikeQemu(slot1, 'Keyslot 1 state (active/disable) is corrupted');
    const hash = variant('luks.qcow2', 'lukshash.qcow2', [[luksOffset + 72, Buffer.from('sha999\0', 'latin1')]]);
    refusedLikeQemu(hash, "Hash algorithm 'sha999' not supported", 'unsupported-feature');
  });

  it('refcount_order 7', () => {
    refusedLikeQemu(variant('plain.qcow2', 'rc7.qcow2', [[96, be32(7)]]), 'Reference count entry width too large; may not exceed 64 bits');
  });

  it('virtual size above 2^63', () => {
    refusedLikeQemu(variant('plain.qcow2', 'huge.qcow2', [[24, be64((1n << 63n) + 512n)]]), 'Image is too big');
  });

  it('virtual size larger than the L1 table covers', () => {
    refusedLikeQemu(variant('plain.qcow2', 'l1small.qcow2', [[24, be64(1n << 40n)]]), 'L1 table is too small');
  });

  it('unknown compression type', () => {
    refusedLikeQemu(variant('plain.qcow2', 'ct2.qcow2', [[104, u8(2)]]), 'qcow2: unknown compression type: 2', 'unsupported-feature');
  });

  it('zstd compression type without its incompatible bit', () => {
    refusedLikeQemu(variant('plain.qcow2', 'ct1.qcow2', [[104, u8(1)]]), 'qcow2: Compression type incompatible feature bit must be set');
  });

  it('no refcount table', () => {
    refusedLikeQemu(variant('plain.qcow2', 'norc.qcow2', [[56, be32(0)]]), 'Image does not contain a reference count table');
  });

  it('extended L2 with clusters too small for subclusters', () => {
    const file = variant('plain.qcow2', 'extl2small.qcow2', [
      [72, be64(16)],
      [20, be32(12)],
    ]);
    refusedLikeQemu(file, 'Unsupported subcluster size: 128');
  });

  it('backing format extension of 16 bytes or more', () => {
    const file = variant('over.qcow2', 'fmtlong.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.backingFormat, data: Buffer.from('q'.repeat(16)) }], { backing: Buffer.from('base.qcow2') });
    refusedLikeQemu(file, 'ERROR: ext_backing_format: len=16 too large (>=16)');
  });

  it('bitmap directory pointing past the end of the file', () => {
    const file = variant('plain.qcow2', 'bmpast.qcow2', [[88, be64(1)]]);
    const bm = Buffer.concat([be32(1), be32(0), be64(4096), be64(CLUSTER * 10000)]);
    rewriteHeaderArea(file, [{ type: EXT.bitmaps, data: bm }]);
    // qemu reads zeros there: the first entry has no table.
    refusedLikeQemu(file, "Bitmap '' doesn't satisfy the constraints");
  });

  it('bitmap directory holding fewer entries than the extension says', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'bm.qcow2', '1M');
    qemuImg(dir, 'bitmap', '--add', 'bm.qcow2', 'one');
    const file = variant('bm.qcow2', 'bmcount.qcow2');
    const ext = readExtensions(file).find((e) => e.type === EXT.bitmaps)!;
    ext.data.writeUInt32BE(2, 0);
    rewriteHeaderArea(
      file,
      readExtensions(file).map((e) => (e.type === EXT.bitmaps ? ext : e)),
    );
    refusedLikeQemu(file, 'Less bitmaps found than specified in header extension');
  });

  it('bitmaps extension with zero bitmaps', () => {
    const file = variant('plain.qcow2', 'bmzero.qcow2', [[88, be64(1)]]);
    rewriteHeaderArea(file, [{ type: EXT.bitmaps, data: Buffer.concat([be32(0), be32(0), be64(4096), be64(CLUSTER)]) }]);
    refusedLikeQemu(file, 'found bitmaps extension with zero bitmaps');
  });

  it('L1 table offset at the very end of the 64-bit range', () => {
    const file = variant('plain.qcow2', 'l1far.qcow2', [[40, be64((1n << 63n) - (1n << 30n))]]);
    refusedLikeQemu(file, 'Could not read L1 table: Input/output error');
  });

  it('snapshot table with too much extra data', () => {
    const file = variant('plain.qcow2', 'snapextra.qcow2', [
      [60, be32(1)],
      [64, be64(CLUSTER * 3)],
    ]);
    patchFile(file, CLUSTER * 3 + 36, be32(2000));
    const err = mustRefuse(qcow2, file);
    expect(err.message.split('\n')[0]).toBe('Too much extra metadata in snapshot table entry 0');
    expect(qemuRefuses(dir, file, 'qcow2').split('\n')[0]).toBe('Too much extra metadata in snapshot table entry 0');
  });
});

describe('odd qcow2 headers qemu opens', () => {
  it('backing_file_offset inside the header: header bytes become the name', () => {
    const file = variant('plain.qcow2', 'bfoinside.qcow2', [
      [8, be64(1)],
      [16, be32(3)],
    ]);
    const p = acceptedLikeQemu(file);
    expect(p.backing!.raw.equals(Buffer.from('FI\xfb', 'latin1'))).toBe(true);
    expect(codes(p)).toEqual(['bad-name', 'bad-name']);
    expect(p.problems[0]!.message).toMatch(/inside the 112-byte header/);
  });

  it('header_length 120, not the usual 112, with the extensions after it', () => {
    const file = variant('plain.qcow2', 'hl120.qcow2', [[100, be32(120)]]);
    rewriteHeaderArea(file, [{ type: EXT.featureTable, data: featureEntry(0, 0, 'dirty bit') }]);
    const p = acceptedLikeQemu(file);
    expect(p.header.fields.header_length).toBe(120);
  });

  it('extension chain without an end marker that fills the area exactly', () => {
    const file = variant('plain.qcow2', 'extnoend.qcow2');
    const n = (CLUSTER - 112) / 8;
    rewriteHeaderArea(
      file,
      Array.from({ length: n }, () => ({ type: 0x12345678, data: Buffer.alloc(0) })),
      { terminate: false },
    );
    const p = acceptedLikeQemu(file);
    expect(p.header.extensions).toHaveLength(n);
    expect(p.header.extensions[0]).toEqual({ type: 0x12345678, name: 'unknown', length: 0 });
  });

  it('duplicate backing format extensions: the last wins', () => {
    const file = variant('over.qcow2', 'dupfmt.qcow2');
    rewriteHeaderArea(
      file,
      [
        { type: EXT.backingFormat, data: Buffer.from('raw') },
        { type: EXT.backingFormat, data: Buffer.from('qcow2') },
      ],
      { backing: Buffer.from('base.qcow2') },
    );
    const p = acceptedLikeQemu(file);
    expect(p.backing!.format).toBe('qcow2');
    expect(p.header.extensions.filter((e) => e.name === 'backing-format')).toHaveLength(2);
  });

  it('data-file bit without a data-file name', () => {
    const file = variant('plain.qcow2', 'dfbit.qcow2', [[72, be64(4)]]);
    const p = acceptedLikeQemu(file);
    expect(p.dataFile).toBeNull();
    expect(codes(p)).toEqual(['data-file-bit-without-name']);
  });

  it('data-file name without the data-file bit: qemu ignores the name', () => {
    const file = variant('df.qcow2', 'dfnobit.qcow2', [[72, be64(0)]]);
    const p = acceptedLikeQemu(file);
    expect(p.dataFile).toBeNull();
    expect(codes(p)).toEqual(['data-file-name-without-bit']);
    expect((p.header.formatSpecific as any).data['data-file']).toBe('data.raw');
  });

  it('empty data-file name', () => {
    const file = variant('df.qcow2', 'dfempty.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.dataFile, data: Buffer.alloc(0) }]);
    const p = acceptedLikeQemu(file);
    expect(p.dataFile).toBeNull();
    expect(codes(p)).toEqual(['bad-name']);
  });

  it('data-file name with a NUL byte', () => {
    const file = variant('df.qcow2', 'dfnul.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.dataFile, data: Buffer.from('da\0ta.raw', 'latin1') }]);
    const p = acceptedLikeQemu(file);
    expect(p.dataFile!.raw.equals(Buffer.from('da\0ta.raw', 'latin1'))).toBe(true);
    expect(codes(p)).toEqual(['bad-name']);
    expect((p.header.formatSpecific as any).data['data-file']).toBe('da');
  });

  it('data-file name with invalid UTF-8', () => {
    const file = variant('df.qcow2', 'dfutf.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.dataFile, data: Buffer.from([0x64, 0xc3, 0x28, 0x61]) }]);
    const p = acceptedLikeQemu(file);
    expect(codes(p)).toEqual(['bad-name']);
    expect((p.header.formatSpecific as any).data['data-file']).toBe('d\ufffd(a');
  });

  it('backing name with a NUL byte: qemu uses the bytes before it', () => {
    const file = variant('over.qcow2', 'bnul.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.backingFormat, data: Buffer.from('qcow2') }], { backing: Buffer.from('ba\0se.qcow2', 'latin1') });
    const p = acceptedLikeQemu(file);
    expect(p.backing!.raw.equals(Buffer.from('ba\0se.qcow2', 'latin1'))).toBe(true);
    expect(codes(p)).toEqual(['bad-name']);
  });

  it('backing name starting with a NUL byte: qemu sees no backing file', () => {
    const file = variant('over.qcow2', 'bnul0.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.backingFormat, data: Buffer.from('qcow2') }], { backing: Buffer.from('\0base.qcow2', 'latin1') });
    const p = acceptedLikeQemu(file);
    expect(p.backing).toBeNull();
    expect(codes(p)).toEqual(['bad-name']);
  });

  it('backing name with invalid UTF-8', () => {
    const file = variant('over.qcow2', 'butf.qcow2');
    rewriteHeaderArea(file, [{ type: EXT.backingFormat, data: Buffer.from('qcow2') }], { backing: Buffer.from([0x62, 0xff, 0x2e, 0x71]) });
    const p = acceptedLikeQemu(file);
    expect(p.backing!.raw.equals(Buffer.from([0x62, 0xff, 0x2e, 0x71]))).toBe(true);
    expect(codes(p)).toEqual(['bad-name']);
  });

  it('backing name past the end of a truncated file', () => {
    const src = fs.readFileSync(path.join(dir, 'over.qcow2'));
    const bfo = Number(src.readBigUInt64BE(8));
    const file = path.join(dir, 'btrunc.qcow2');
    fs.writeFileSync(file, src.subarray(0, bfo));
    const p = acceptedLikeQemu(file);
    expect(p.backing).toBeNull();
    expect(codes(p)).toEqual(['bad-name']);
  });

  it('data_file_raw together with a backing file', () => {
    const file = variant('over.qcow2', 'rawback.qcow2', [[88, be64(2)]]);
    const p = acceptedLikeQemu(file);
    expect(codes(p)).toEqual(['raw-data-file-with-backing']);
  });

  it('bitmaps extension without the autoclear bit is ignored, as qemu does', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'bm2.qcow2', '1M');
    qemuImg(dir, 'bitmap', '--add', 'bm2.qcow2', 'one');
    const file = variant('bm2.qcow2', 'bmnoauto.qcow2', [[88, be64(0)]]);
    const p = acceptedLikeQemu(file);
    expect((p.header.formatSpecific as any).data.bitmaps).toBeUndefined();
  });

  it('unknown compatible and autoclear bits are kept but harmless', () => {
    const file = variant('plain.qcow2', 'compatbits.qcow2', [
      [80, be64((1n << 62n) | 1n)],
      [88, be64(1n << 63n)],
    ]);
    const p = acceptedLikeQemu(file);
    // Above 2^53: kept exactly, as decimal text.
    expect(p.header.fields.compatible_features).toBe(((1n << 62n) | 1n).toString());
    expect(p.header.fields.autoclear_features).toBe((1n << 63n).toString());
    expect(p.header.fields.lazy_refcounts).toBe(true);
  });
});
