// QED: images made by qemu-img, and patched ones compared with qemu-img's verdict.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qed } from '../../../electron/node/core/formats/qed.js';
import { bufferSource } from '../../../electron/node/core/source.js';
import { tempDir } from '../../support/qemu.js';
import { codes, likeQemu, qemuImg } from '../qcow2/fixtures.js';
import { le32, le64 } from '../raw/common.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-qed-'));
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '4M');
  qemuImg(dir, 'create', '-q', '-f', 'raw', 'base.raw', '4M');
  qemuImg(dir, 'create', '-q', '-f', 'qed', 'plain.qed', '4M');
  qemuImg(dir, 'create', '-q', '-f', 'qed', '-b', 'base.qcow2', '-F', 'qcow2', 'over.qed');
  qemuImg(dir, 'create', '-q', '-f', 'qed', '-b', 'base.raw', '-F', 'raw', 'overraw.qed');
});
afterAll(() => cleanup());

const { compare, variant, refused: refusedLikeQemu } = likeQemu(qed, 'qed', () => dir);

describe('qed probe', () => {
  it('scores 100 for the QED magic', () => {
    expect(qed.probe(bufferSource(Buffer.concat([Buffer.from('QED\0', 'latin1'), Buffer.alloc(60)])))).toBe(100);
    expect(qed.probe(bufferSource(Buffer.from('QEX\0', 'latin1')))).toBe(0);
    expect(qed.probe(bufferSource(Buffer.alloc(0)))).toBe(0);
  });
});

describe('qed images made by qemu-img', () => {
  it('without a backing file', () => {
    const p = compare('plain.qed');
    expect(p.header.fields).toMatchObject({ cluster_size: 65536, table_size: 4, header_size: 1, features: 0, image_size: 4 * 1024 * 1024 });
    expect(p.problems).toEqual([]);
  });

  it('with a qcow2 backing file (no format recorded: qemu would probe)', () => {
    const p = compare('over.qed');
    expect(p.backing!.raw.toString()).toBe('base.qcow2');
    expect(p.backing!.format).toBeNull();
  });

  it('with -F raw: the "backing is raw" feature', () => {
    const p = compare('overraw.qed');
    expect(p.backing!.format).toBe('raw');
    expect(p.header.fields.backing_format_no_probe).toBe(true);
  });

  it('with a backing name with spaces and non-ASCII characters', () => {
    const name = 'base ünïcode ✓.raw';
    qemuImg(dir, 'create', '-q', '-f', 'raw', name, '1M');
    qemuImg(dir, 'create', '-q', '-f', 'qed', '-b', name, '-F', 'raw', 'accent.qed');
    const p = compare('accent.qed');
    expect(p.backing!.raw.equals(Buffer.from(name))).toBe(true);
    expect(p.problems).toEqual([]);
  });

  it('need-check bit: qemu-img shows dirty-flag false, we report the dirty problem', () => {
    const file = variant('overraw.qed', 'needcheck.qed', [[16, le64(7)]]);
    const p = compare(path.basename(file));
    expect(p.header.dirty).toBe(false);
    expect(p.header.fields.need_check).toBe(true);
    expect(codes(p)).toEqual(['dirty']);
  });

  it('"backing is raw" bit without a backing file', () => {
    const p = compare(path.basename(variant('plain.qed', 'rawonly.qed', [[16, le64(4)]])));
    expect(p.backing).toBeNull();
  });

  it('backing name with a NUL byte', () => {
    const src = fs.readFileSync(path.join(dir, 'overraw.qed'));
    const file = variant('overraw.qed', 'bnul.qed', [[src.readUInt32LE(56) + 2, Buffer.from([0])]]);
    const p = compare(path.basename(file));
    expect(codes(p)).toEqual(['bad-name']);
  });
});

describe('malformed qed headers', () => {
  it('truncated file (header cut at 40 bytes)', () => {
    const file = path.join(dir, 'trunc.qed');
    fs.writeFileSync(file, fs.readFileSync(path.join(dir, 'plain.qed')).subarray(0, 40));
    refusedLikeQemu(file, 'QED table offset is invalid');
  });

  it('unknown feature bit', () => {
    const err = refusedLikeQemu(variant('plain.qed', 'feat.qed', [[16, le64(8)]]), 'Unsupported QED features: 8');
    expect(err.code).toBe('unsupported-feature');
  });

  it('cluster size not a power of two', () => {
    refusedLikeQemu(variant('plain.qed', 'cs.qed', [[4, le32(5000)]]), 'QED cluster size is invalid');
  });

  it('table size out of range', () => {
    refusedLikeQemu(variant('plain.qed', 'ts.qed', [[8, le32(32)]]), 'QED table size is invalid');
  });

  it('image size not a multiple of 512', () => {
    refusedLikeQemu(variant('plain.qed', 'isz.qed', [[48, le64(1000)]]), 'QED image size is invalid');
  });

  it('L1 table offset past the end of the file', () => {
    refusedLikeQemu(variant('plain.qed', 'l1.qed', [[40, le64(1n << 40n)]]), 'QED table offset is invalid');
  });

  it('backing name past the header clusters', () => {
    refusedLikeQemu(
      variant('overraw.qed', 'bfo.qed', [
        [56, le32(65530)],
        [60, le32(10)],
      ]),
      'QED backing filename offset is invalid',
    );
  });

  it('backing name of 4096 bytes or more', () => {
    refusedLikeQemu(variant('overraw.qed', 'blong.qed', [[60, le32(4096)]]), 'Failed to read backing filename');
  });
});
