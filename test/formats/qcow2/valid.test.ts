// Valid qcow2 images made by qemu-img: every field the brief lists must equal qemu-img info.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qcow2 } from '../../../electron/node/core/formats/qcow2/index.js';
import { bufferSource } from '../../../electron/node/core/source.js';
import { tempDir } from '../../support/qemu.js';
import {
  EXT,
  be64,
  codes,
  expectLikeQemu,
  makeLuksQcow2,
  mustParse,
  patchFile,
  qemuAccepts,
  qemuImg,
  readExtensions,
  rewriteHeaderArea,
} from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-qcow2-'));
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
});
afterAll(() => cleanup());

/** Create an image with qemu-img, parse it, compare with qemu-img info; returns the parse. */
function check(name: string, ...createArgs: string[]) {
  // qemu-img wants the name before the size: a trailing size argument goes after the name.
  const last = createArgs[createArgs.length - 1];
  const size = last !== undefined && /^\d+[KMG]?$/.test(last) ? [createArgs.pop()!] : [];
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', ...createArgs, name, ...size);
  return compare(name);
}

function compare(name: string) {
  const file = path.join(dir, name);
  const p = mustParse(qcow2, file);
  expectLikeQemu(p, qemuAccepts(dir, file));
  return p;
}

describe('qcow2 probe', () => {
  it('scores 100 for versions 2 and 3 (and any version >= 2, as qemu), 0 otherwise', () => {
    const h = (v: number) => bufferSource(Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), Buffer.from([0, 0, 0, v]), Buffer.alloc(200)]));
    expect(qcow2.probe(h(2))).toBe(100);
    expect(qcow2.probe(h(3))).toBe(100);
    expect(qcow2.probe(h(4))).toBe(100); // qemu's qcow2_probe: version >= 2, then open fails
    expect(qcow2.probe(h(1))).toBe(0);
    expect(qcow2.probe(bufferSource(Buffer.from('QFI')))).toBe(0);
    expect(qcow2.probe(bufferSource(Buffer.alloc(512)))).toBe(0);
  });
});

describe('qcow2 images made by qemu-img', () => {
  it('compat=0.10 (version 2)', () => {
    const p = check('v2.qcow2', '-o', 'compat=0.10', '1M');
    expect(p.header.fields.version).toBe(2);
    expect(p.header.fields.header_length).toBe(72);
    expect(p.header.fields.refcount_order).toBe(4);
    expect(p.problems).toEqual([]);
  });

  it('compat=1.1 (version 3), every header field by name', () => {
    const p = check('v3.qcow2', '-o', 'compat=1.1', '3M');
    const f = p.header.fields;
    expect(f).toMatchObject({
      version: 3,
      backing_file_offset: 0,
      backing_file_size: 0,
      cluster_bits: 16,
      size: 3 * 1024 * 1024,
      crypt_method: 0,
      l1_size: 1,
      refcount_table_clusters: 1,
      nb_snapshots: 0,
      snapshots_offset: 0,
      incompatible_features: 0,
      compatible_features: 0,
      autoclear_features: 0,
      refcount_order: 4,
      header_length: 112,
      compression_type: 0,
      dirty: false,
      corrupt: false,
      external_data_file: false,
      compression_type_bit: false,
      extended_l2: false,
      lazy_refcounts: false,
      bitmaps: false,
      data_file_raw: false,
    });
    expect(typeof f.l1_table_offset).toBe('number');
    expect(typeof f.refcount_table_offset).toBe('number');
    expect(p.header.extensions).toEqual([{ type: EXT.featureTable, name: 'feature-table', length: 384 }]);
    expect(p.dataFile).toBeNull();
  });

  it('backing file with -F', () => {
    const p = check('over.qcow2', '-b', 'base.qcow2', '-F', 'qcow2');
    expect(p.backing!.raw.toString()).toBe('base.qcow2');
    expect(p.backing!.format).toBe('qcow2');
    expect(p.header.extensions.map((e) => e.name)).toEqual(['backing-format', 'feature-table']);
    expect(p.problems).toEqual([]);
  });

  it('backing file without a recorded format (extension removed)', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'nofmt.qcow2');
    const file = path.join(dir, 'nofmt.qcow2');
    rewriteHeaderArea(
      file,
      readExtensions(file).filter((e) => e.type !== EXT.backingFormat),
      { backing: Buffer.from('base.qcow2') },
    );
    const p = compare('nofmt.qcow2');
    expect(p.backing!.raw.toString()).toBe('base.qcow2');
    expect(p.backing!.format).toBeNull();
    expect(p.qemuExtra?.['backing-filename-format']).toBeUndefined();
  });

  it('backing name with spaces and non-ASCII characters', () => {
    const name = 'bäse ímage ✓ 1.qcow2';
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', name, '1M');
    const p = check('spaces.qcow2', '-b', name, '-F', 'qcow2');
    expect(p.backing!.raw.equals(Buffer.from(name, 'utf8'))).toBe(true);
    expect(p.problems).toEqual([]);
  });

  it('a raw backing file with -F raw', () => {
    qemuImg(dir, 'create', '-q', '-f', 'raw', 'base.raw', '1M');
    const p = check('overraw.qcow2', '-b', 'base.raw', '-F', 'raw');
    expect(p.backing!.format).toBe('raw');
  });

  it('external data file', () => {
    const p = check('df.qcow2', '-o', 'data_file=df.data', '1M');
    expect(p.dataFile!.raw.toString()).toBe('df.data');
    expect(p.header.fields.external_data_file).toBe(true);
    expect(p.header.fields.data_file_raw).toBe(false);
    expect(p.problems).toEqual([]);
  });

  it('external data file with data_file_raw', () => {
    const p = check('dfraw.qcow2', '-o', 'data_file=dfraw.data,data_file_raw=on', '1M');
    expect(p.dataFile!.raw.toString()).toBe('dfraw.data');
    expect(p.header.fields.data_file_raw).toBe(true);
    expect(p.problems).toEqual([]);
  });

  it('cluster size 512', () => {
    const p = check('c512.qcow2', '-o', 'cluster_size=512', '4M');
    expect(p.header.clusterSize).toBe(512);
  });

  it('cluster size 2M', () => {
    const p = check('c2m.qcow2', '-o', 'cluster_size=2M', '64M');
    expect(p.header.clusterSize).toBe(2 * 1024 * 1024);
  });

  it('lazy_refcounts=on', () => {
    const p = check('lazy.qcow2', '-o', 'lazy_refcounts=on', '1M');
    expect(p.header.fields.lazy_refcounts).toBe(true);
  });

  it('compression_type=zstd', () => {
    const p = check('zstd.qcow2', '-o', 'compression_type=zstd', '1M');
    expect(p.header.fields.compression_type).toBe(1);
    expect(p.header.fields.compression_type_bit).toBe(true);
  });

  it('extended_l2=on', () => {
    const p = check('extl2.qcow2', '-o', 'extended_l2=on', '1M');
    expect(p.header.fields.extended_l2).toBe(true);
  });

  it('refcount_bits=1', () => {
    const p = check('rc1.qcow2', '-o', 'refcount_bits=1', '1M');
    expect(p.header.fields.refcount_order).toBe(0);
  });

  it('refcount_bits=64', () => {
    const p = check('rc64.qcow2', '-o', 'refcount_bits=64', '1M');
    expect(p.header.fields.refcount_order).toBe(6);
  });

  it('an unaligned virtual size is shown rounded down to 512, as qemu does', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'odd.qcow2', '1M');
    patchFile(path.join(dir, 'odd.qcow2'), 24, be64(1024 * 1024 + 700));
    const p = compare('odd.qcow2');
    expect(p.header.virtualSize).toBe(1024 * 1024 + 512);
    expect(p.header.fields.size).toBe(1024 * 1024 + 700);
  });

  it('bitmaps (added, one disabled, one with 128K granularity)', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'bm.qcow2', '10M');
    qemuImg(dir, 'bitmap', '--add', 'bm.qcow2', 'b0');
    qemuImg(dir, 'bitmap', '--add', '-g', '128K', 'bm.qcow2', 'wide bitmap é');
    qemuImg(dir, 'bitmap', '--add', 'bm.qcow2', 'off');
    qemuImg(dir, 'bitmap', '--disable', 'bm.qcow2', 'off');
    const p = compare('bm.qcow2');
    expect((p.header.formatSpecific as any).data.bitmaps).toEqual([
      { name: 'b0', granularity: 65536, flags: ['auto'] },
      { name: 'wide bitmap é', granularity: 131072, flags: ['auto'] },
      { name: 'off', granularity: 65536, flags: [] },
    ]);
    expect(p.header.fields.bitmaps).toBe(true);
    expect(p.header.extensions.map((e) => e.name)).toContain('bitmaps');
  });

  it('a bitmap marked in use', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'bmuse.qcow2', '10M');
    qemuImg(dir, 'bitmap', '--add', 'bmuse.qcow2', 'busy');
    // Set the in-use flag in the directory entry (flags at +12 of the entry).
    const file = path.join(dir, 'bmuse.qcow2');
    const ext = readExtensions(file).find((e) => e.type === EXT.bitmaps)!;
    const dirOffset = Number(ext.data.readBigUInt64BE(16));
    const flags = fs.readFileSync(file).readUInt32BE(dirOffset + 12);
    patchFile(file, dirOffset + 12, Buffer.from([0, 0, 0, flags | 1]));
    const p = compare('bmuse.qcow2');
    expect((p.header.formatSpecific as any).data.bitmaps[0].flags).toEqual(['in-use', 'auto']);
  });

  it('encrypted with LUKS (encrypt.format=luks)', () => {
    makeLuksQcow2(dir, 'luks.qcow2');
    const p = compare('luks.qcow2');
    expect(p.header.encrypted).toBe(true);
    expect(p.header.fields.crypt_method).toBe(2);
    expect((p.header.formatSpecific as any).data.encrypt.format).toBe('luks');
    expect(p.header.extensions.map((e) => e.name)).toContain('crypto-header');
  });

  it('encrypted with LUKS, essiv and cbc', () => {
    makeLuksQcow2(
      dir,
      'luks-essiv.qcow2',
      ',encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.hash-alg=sha1',
    );
    const p = compare('luks-essiv.qcow2');
    expect((p.header.formatSpecific as any).data.encrypt['ivgen-hash-alg']).toBe('sha256');
  });

  it('encrypted with the legacy AES method', () => {
    const p = check('aes.qcow2', '--object', 'secret,id=s0,data=x', '-o', 'encrypt.format=aes,encrypt.key-secret=s0', '1M');
    expect(p.header.encrypted).toBe(true);
    expect((p.header.formatSpecific as any).data.encrypt).toEqual({ format: 'aes' });
  });

  it('dirty bit (patched): dirty-flag and the dirty problem', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'dirty.qcow2', '1M');
    patchFile(path.join(dir, 'dirty.qcow2'), 72, be64(1));
    const p = compare('dirty.qcow2');
    expect(p.header.dirty).toBe(true);
    expect(p.header.fields.dirty).toBe(true);
    expect(codes(p)).toEqual(['dirty']);
  });

  it('corrupt bit (patched): corrupt in format-specific and the corrupt problem', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'corrupt.qcow2', '1M');
    patchFile(path.join(dir, 'corrupt.qcow2'), 72, be64(2));
    const p = compare('corrupt.qcow2');
    expect((p.header.formatSpecific as any).data.corrupt).toBe(true);
    expect(codes(p)).toEqual(['corrupt']);
  });

  it('version 2 with a backing file and format', () => {
    const p = check('v2over.qcow2', '-o', 'compat=0.10', '-b', 'base.qcow2', '-F', 'qcow2');
    expect(p.header.fields.version).toBe(2);
    expect(p.backing!.format).toBe('qcow2');
  });

  it('internal snapshots (v3 and v2 tables)', () => {
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'snap.qcow2', '1M');
    qemuImg(dir, 'snapshot', '-c', 's1', 'snap.qcow2');
    qemuImg(dir, 'snapshot', '-c', 'second snapshot', 'snap.qcow2');
    expect(compare('snap.qcow2').header.fields.nb_snapshots).toBe(2);
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', 'snapv2.qcow2', '1M');
    qemuImg(dir, 'snapshot', '-c', 's1', 'snapv2.qcow2');
    expect(compare('snapv2.qcow2').header.fields.nb_snapshots).toBe(1);
  });

  it('reads only the head for an ordinary image', () => {
    const p = check('small.qcow2', '1M');
    expect(p.bytesRead).toBeLessThanOrEqual(4096);
  });
});
