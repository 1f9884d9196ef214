// Legacy qcow (version 1): images made by qemu-img, and patched ones compared with qemu-img's verdict.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qcow } from '../../../electron/node/core/formats/qcow.js';
import { bufferSource } from '../../../electron/node/core/source.js';
import { tempDir } from '../../support/qemu.js';
import { be32, be64, codes, likeQemu, mustRefuse, qemuImg, qemuRefuses, u8 } from '../qcow2/fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-qcow-'));
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '4M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow', 'plain.qcow', '4M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow', '-b', 'base.qcow2', '-F', 'qcow2', 'over.qcow');
});
afterAll(() => cleanup());

const { compare, variant, refused: refusedLikeQemu } = likeQemu(qcow, 'qcow', () => dir);

describe('qcow probe', () => {
  it('scores 100 only for version 1', () => {
    const h = (v: number) => bufferSource(Buffer.concat([Buffer.from('QFI\xfb', 'latin1'), be32(v), Buffer.alloc(64)]));
    expect(qcow.probe(h(1))).toBe(100);
    expect(qcow.probe(h(2))).toBe(0);
    expect(qcow.probe(h(3))).toBe(0);
    expect(qcow.probe(bufferSource(Buffer.alloc(64)))).toBe(0);
  });
});

describe('qcow images made by qemu-img', () => {
  it('without a backing file', () => {
    const p = compare('plain.qcow');
    expect(p.header.fields).toMatchObject({ version: 1, backing_file_offset: 0, size: 4 * 1024 * 1024, cluster_bits: 12, crypt_method: 0 });
    expect(p.header.formatSpecific).toBeNull();
    expect(p.problems).toEqual([]);
  });

  it('with a backing file (qcow records no backing format)', () => {
    const p = compare('over.qcow');
    expect(p.backing!.raw.toString()).toBe('base.qcow2');
    expect(p.backing!.format).toBeNull();
    expect(p.header.clusterSize).toBe(512);
  });

  it('with a backing name with spaces and non-ASCII characters', () => {
    const name = 'vieux disque é.qcow2';
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', name, '1M');
    qemuImg(dir, 'create', '-q', '-f', 'qcow', '-b', name, '-F', 'qcow2', 'accent.qcow');
    const p = compare('accent.qcow');
    expect(p.backing!.raw.equals(Buffer.from(name))).toBe(true);
    expect(p.problems).toEqual([]);
  });

  it('encrypted (AES)', () => {
    qemuImg(
      dir,
      'create',
      '-q',
      '-f',
      'qcow',
      '--object',
      'secret,id=s0,data=x',
      '-o',
      'encrypt.format=aes,encrypt.key-secret=s0',
      'aes.qcow',
      '1M',
    );
    const p = compare('aes.qcow');
    expect(p.header.encrypted).toBe(true);
  });

  it('a backing name past the end of the file reads as zeros: no backing file', () => {
    const file = variant('over.qcow', 'bpast.qcow', [[8, be64(1n << 40n)]]);
    const p = compare(path.basename(file));
    expect(p.backing).toBeNull();
    expect(codes(p)).toEqual(['bad-name']);
  });

  it('a backing name with a NUL byte', () => {
    const file = variant('over.qcow', 'bnul.qcow', [[48 + 4, Buffer.from([0])]]);
    const p = compare(path.basename(file));
    expect(p.backing!.raw.length).toBe('base.qcow2'.length);
    expect(codes(p)).toEqual(['bad-name']);
  });
});

describe('malformed qcow headers', () => {
  it('truncated file (header cut at 20 bytes)', () => {
    const file = path.join(dir, 'trunc.qcow');
    fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'plain.qcow')).subarray(0, 20));
    refusedLikeQemu(file, 'Image size is too small (must be at least 2 bytes)');
  });

  it('size below 2 bytes', () => {
    refusedLikeQemu(variant('plain.qcow', 'size1.qcow', [[24, be64(1)]]), 'Image size is too small (must be at least 2 bytes)');
  });

  it('cluster_bits 8', () => {
    refusedLikeQemu(variant('plain.qcow', 'cb8.qcow', [[32, u8(8)]]), 'Cluster size must be between 512 and 64k');
  });

  it('cluster_bits 17', () => {
    refusedLikeQemu(variant('plain.qcow', 'cb17.qcow', [[32, u8(17)]]), 'Cluster size must be between 512 and 64k');
  });

  it('l2_bits out of range', () => {
    refusedLikeQemu(variant('plain.qcow', 'l2.qcow', [[33, u8(14)]]), 'L2 table size must be between 512 and 64k');
  });

  it('crypt method 2', () => {
    refusedLikeQemu(variant('plain.qcow', 'crypt2.qcow', [[36, be32(2)]]), 'invalid encryption method in qcow header');
  });

  it('backing name longer than 1023 bytes', () => {
    refusedLikeQemu(variant('over.qcow', 'blong.qcow', [[16, be32(1024)]]), 'Backing file name too long');
  });

  it('size near 2^64', () => {
    refusedLikeQemu(variant('plain.qcow', 'huge.qcow', [[24, be64((1n << 64n) - 1n)]]), 'Image too large');
  });

  it('size that needs too big an L1 table', () => {
    refusedLikeQemu(variant('plain.qcow', 'big.qcow', [[24, be64(1n << 62n)]]), 'Image too large');
  });

  it('version 2 given to the qcow driver', () => {
    const file = variant('plain.qcow', 'v2.qcow', [[4, be32(2)]]);
    const err = mustRefuse(qcow, file);
    expect(err.message).toBe("qcow (v1) does not support qcow version 2\nTry the 'qcow2' driver instead.");
    expect(qemuRefuses(dir, file, 'qcow')).toBe(err.message);
  });
});
