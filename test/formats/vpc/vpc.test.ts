import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw } from '../../../electron/node/core/formats/raw.js';
import { vpc } from '../../../electron/node/core/formats/vpc.js';
import { qemuInfo, tempDir } from '../../support/qemu.js';
import { bytesRefusal, expectBothRefuse, expectLikeQemu, patchedCopy, probeAndParse } from '../raw/common.js';
import { DYN, FOOTER, be32, be64, fixChecksum, makeVpc } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-vpc-'));
  makeVpc(dir, 'dynamic.vhd', '1G');
  makeVpc(dir, 'fixed.vhd', '100M', true);
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);

/** Patch a copy of the dynamic image's footer at 0 and fix the checksum. */
function footerVariant(to: string, patches: Array<[number, Uint8Array]>, from = 'dynamic.vhd'): string {
  patchedCopy(dir, from, to, patches);
  fixChecksum(at(to), 0);
  return to;
}

describe('vpc: images made by qemu-img', () => {
  it('dynamic', () => {
    const { probed, parsed } = probeAndParse(at('dynamic.vhd'), vpc);
    expect(probed).toBe('vpc');
    expectLikeQemu(parsed, qemuInfo(dir, 'dynamic.vhd'));
    expect(parsed.header.fields.disk_type).toBe('dynamic');
    expect(parsed.backing).toBeNull();
  });

  it('fixed: qemu probes it as raw (no footer at offset 0); as vpc it has its CHS size', () => {
    const { probed, parsed } = probeAndParse(at('fixed.vhd'), vpc);
    expect(probed).toBe('raw');
    const info = qemuInfo(dir, 'fixed.vhd');
    expect(info.format).toBe('raw');
    expectLikeQemu(probeAndParse(at('fixed.vhd'), raw).parsed, info);
    const asVpc = JSON.parse(require_qemu(['info', '--output=json', '-f', 'vpc', 'fixed.vhd']));
    expectLikeQemu(parsed, asVpc);
    expect(parsed.header.fields.disk_type).toBe('fixed');
  });

  it('sizes from current_size for Hyper-V ("win ") images', () => {
    const f = footerVariant('win.vhd', [[FOOTER.creatorApp, Buffer.from('win ')]]);
    const { parsed } = probeAndParse(at(f), vpc);
    expect(parsed.header.fields.size_from).toBe('current_size');
    expectLikeQemu(parsed, qemuInfo(dir, f));
  });

  it('sizes from current_size when the geometry is the maximum', () => {
    const f = footerVariant('maxchs.vhd', [
      [FOOTER.geometry, Buffer.from([0xff, 0xff, 16, 255])],
      [FOOTER.currentSize, be64(3n << 30n)],
    ]);
    // 3 GiB needs 1536 blocks of 2 MiB: a bigger table, all unallocated.
    patchedCopy(dir, f, 'maxchs2.vhd', [
      [512 + DYN.maxTableEntries, be32(1536)],
      [1536, Buffer.alloc(1536 * 4, 0xff)],
    ]);
    const { parsed } = probeAndParse(at('maxchs2.vhd'), vpc);
    expectLikeQemu(parsed, qemuInfo(dir, 'maxchs2.vhd'));
    expect(parsed.header.virtualSize).toBe(3 * 2 ** 30);
  });
});

describe('vpc: malformed images', () => {
  it('truncated after the footer copy: the dynamic header reads as zeros', () => {
    patchedCopy(dir, 'dynamic.vhd', 'trunc.vhd', [], 300);
    expectBothRefuse(dir, 'trunc.vhd', 'vpc', vpc, 'Invalid header magic');
  });

  it('truncated inside the block allocation table', () => {
    patchedCopy(dir, 'dynamic.vhd', 'trunc2.vhd', [], 1600);
    expectBothRefuse(
      dir,
      'trunc2.vhd',
      'vpc',
      vpc,
      'block-vpc: free_data_block_offset points after the end of file. The image has been truncated.',
    );
  });

  it('a short file: its zero-padded first sector is no footer', () => {
    fs.writeFileSync(at('tiny.vhd'), Buffer.alloc(100));
    expectBothRefuse(dir, 'tiny.vhd', 'vpc', vpc, 'invalid VPC image');
  });

  it('an empty file', () => {
    fs.writeFileSync(at('empty.vhd'), Buffer.alloc(0));
    expectBothRefuse(dir, 'empty.vhd', 'vpc', vpc, 'File too small for a VHD header');
  });

  it('no footer anywhere', () => {
    fs.writeFileSync(at('nofooter.vhd'), Buffer.alloc(4096));
    expectBothRefuse(dir, 'nofooter.vhd', 'vpc', vpc, 'invalid VPC image');
  });

  it('bad checksum: qemu 7.2 refuses', () => {
    patchedCopy(dir, 'dynamic.vhd', 'csum.vhd', [[FOOTER.checksum, be32(1)]]);
    expectBothRefuse(dir, 'csum.vhd', 'vpc', vpc, 'Incorrect header checksum');
  });

  it('a dynamic header offset past the end of the file', () => {
    const f = footerVariant('dynpast.vhd', [[FOOTER.dataOffset, be64(1 << 30)]]);
    expectBothRefuse(dir, f, 'vpc', vpc, 'Invalid header magic');
  });

  it('a dynamic header offset no read can reach', () => {
    const f = footerVariant('dynfar.vhd', [[FOOTER.dataOffset, be64(0xffffffffffffffffn)]]);
    expectBothRefuse(dir, f, 'vpc', vpc, 'Error reading dynamic VHD header');
  });

  it('a block allocation table past the end of the file', () => {
    patchedCopy(dir, 'dynamic.vhd', 'batpast.vhd', [[512 + DYN.tableOffset, be64(1 << 30)]]);
    expectBothRefuse(
      dir,
      'batpast.vhd',
      'vpc',
      vpc,
      'block-vpc: free_data_block_offset points after the end of file. The image has been truncated.',
    );
  });

  it('a block allocation table offset no read can reach', () => {
    patchedCopy(dir, 'dynamic.vhd', 'batfar.vhd', [[512 + DYN.tableOffset, be64(0x7fffffffffffffffn)]]);
    expectBothRefuse(dir, 'batfar.vhd', 'vpc', vpc, 'Error reading pagetable');
  });

  it('a BAT entry pointing past the end of the file', () => {
    patchedCopy(dir, 'dynamic.vhd', 'batentry.vhd', [[1536, be32(0x100000)]]);
    expectBothRefuse(
      dir,
      'batentry.vhd',
      'vpc',
      vpc,
      'block-vpc: free_data_block_offset points after the end of file. The image has been truncated.',
    );
  });

  it('bad block size', () => {
    patchedCopy(dir, 'dynamic.vhd', 'bsize.vhd', [[512 + DYN.blockSize, be32(3000)]]);
    expectBothRefuse(dir, 'bsize.vhd', 'vpc', vpc, 'Invalid block size 3000');
  });

  it('a page table too small for the disk', () => {
    patchedCopy(dir, 'dynamic.vhd', 'small.vhd', [[512 + DYN.maxTableEntries, be32(2)]]);
    expectBothRefuse(dir, 'small.vhd', 'vpc', vpc, 'Page table too small');
  });

  it('a negative table entry count', () => {
    patchedCopy(dir, 'dynamic.vhd', 'neg.vhd', [[512 + DYN.maxTableEntries, be32(0x80000000)]]);
    expectBothRefuse(dir, 'neg.vhd', 'vpc', vpc, 'Max Table Entries too large (-2147483648)');
  });

  it('a disk larger than 2040 GiB', () => {
    const f = footerVariant('big.vhd', [
      [FOOTER.creatorApp, Buffer.from('win ')],
      [FOOTER.currentSize, be64(3n << 40n)],
    ]);
    expectBothRefuse(dir, f, 'vpc', vpc, 'File too large');
  });

  it('bad dynamic header magic', () => {
    patchedCopy(dir, 'dynamic.vhd', 'magic.vhd', [[512, Buffer.from('xxsparse')]]);
    expectBothRefuse(dir, 'magic.vhd', 'vpc', vpc, 'Invalid header magic');
  });

  it('a footer alone in memory', () => {
    const b = fs.readFileSync(at('dynamic.vhd')).subarray(0, 512);
    expect(bytesRefusal(vpc, b).message).toBe('Invalid header magic');
  });
});

function require_qemu(args: string[]): string {
  return execFileSync('qemu-img', args, { cwd: dir, encoding: 'utf8' });
}
