// Cases the differential fuzzer found where diskchain and qemu-img 7.2 disagreed on a VHD.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vpc } from '../../../electron/node/core/formats/vpc.js';
import { qemuImg, qemuInfo, tempDir } from '../../support/qemu.js';
import { expectBothRefuse, expectLikeQemu, patchedCopy, probeAndParse } from '../raw/common.js';
import { DYN, FOOTER, be32, fixChecksum, makeVpc } from './fixtures.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-vpc-fidelity-'));
  makeVpc(dir, 'dynamic.vhd', '16M');
  makeVpc(dir, 'fixed.vhd', '1M', true);
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);

describe('vpc: as qemu-img 7.2 opens it', () => {
  it('refuses a footer found only at the end that says "dynamic" (qemu 6.2 and later)', () => {
    const end = fs.statSync(at('fixed.vhd')).size - 512;
    patchedCopy(dir, 'fixed.vhd', 'end-dynamic.vhd', [[end + FOOTER.type, be32(3)]]);
    fixChecksum(at('end-dynamic.vhd'), end);
    expectBothRefuse(dir, 'end-dynamic.vhd', 'vpc', vpc, 'invalid VPC image');
  });

  it('still opens a footer found only at the end that says "fixed"', () => {
    const info = JSON.parse(qemuImg(dir, 'info', '--output=json', '-f', 'vpc', 'fixed.vhd'));
    expectLikeQemu(probeAndParse(at('fixed.vhd'), vpc).parsed, info);
  });

  it('prints a block size of 2^31 as qemu does: an int, so negative', () => {
    patchedCopy(dir, 'dynamic.vhd', 'bs31.vhd', [[512 + DYN.blockSize, be32(0x80000000)]]);
    const info = qemuInfo(dir, 'bs31.vhd');
    expect(info['cluster-size']).toBe(-2147483648);
    const { parsed } = probeAndParse(at('bs31.vhd'), vpc);
    expectLikeQemu(parsed, info);
    expect(parsed.header.fields.block_size).toBe(0x80000000);
  });

  it('compares the end of the block table with the file length rounded up to a sector', () => {
    // The table ends at 1536 + 512 = 2048; a file of 1935 bytes is 2048 to qemu.
    patchedCopy(dir, 'dynamic.vhd', 'short.vhd', [], 1935);
    expectLikeQemu(probeAndParse(at('short.vhd'), vpc).parsed, qemuInfo(dir, 'short.vhd'));
    patchedCopy(dir, 'dynamic.vhd', 'shorter.vhd', [], 1536);
    expectBothRefuse(dir, 'shorter.vhd', 'vpc', vpc, 'free_data_block_offset points after the end of file');
  });
});
