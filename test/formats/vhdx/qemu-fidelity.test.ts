// Cases where diskchain and qemu-img 7.2 disagreed on a VHDX: the end of the file is whole sectors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { vhdx } from '../../../electron/node/core/formats/vhdx.js';
import { qemuImg, qemuInfo, tempDir } from '../../support/qemu.js';
import { expectBothRefuse, expectLikeQemu, patchedCopy, probeAndParse } from '../raw/common.js';
import { GUID, VhdxEdit } from './fixtures.js';

let dir: string;
let cleanup: () => void;
let size: number;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-vhdx-fidelity-'));
  // Data in every block, so the BAT holds fully present blocks up to the end of the file.
  fs.writeFileSync(path.join(dir, 'r.raw'), Buffer.alloc(1 << 20, 0xa5));
  qemuImg(dir, 'convert', '-O', 'vhdx', '-o', 'block_size=1M', 'r.raw', 'a.vhdx');
  size = fs.statSync(path.join(dir, 'a.vhdx')).size;
});

afterAll(() => cleanup());

describe('vhdx: payload blocks against the file length rounded up to a sector', () => {
  it('opens a file cut inside its last sector: qemu counts that sector whole', () => {
    patchedCopy(dir, 'a.vhdx', 'cut.vhdx', [], size - 100);
    expectLikeQemu(probeAndParse(path.join(dir, 'cut.vhdx'), vhdx).parsed, qemuInfo(dir, 'cut.vhdx'));
  });

  it('refuses a file missing its whole last sector', () => {
    patchedCopy(dir, 'a.vhdx', 'short.vhdx', [], size - 512);
    expectBothRefuse(dir, 'short.vhdx', 'vhdx', vhdx, /BAT|block|end of the file|after/i, 'Invalid argument');
  });
});

describe('vhdx: one read is at most BDRV_REQUEST_MAX_BYTES', () => {
  it('refuses a BAT region of 4 GiB - 1 bytes beyond the file (differential fuzzer, seed 107)', () => {
    fs.copyFileSync(path.join(dir, 'a.vhdx'), path.join(dir, 'bigbat.vhdx'));
    const e = new VhdxEdit(path.join(dir, 'bigbat.vhdx'));
    const bat = e.region(GUID.bat);
    e.regionTable((rt) => {
      rt.writeBigUInt64LE(2n ** 53n + 1n, 16 + bat.index * 32 + 16);
      rt.writeUInt32LE(0xffffffff, 16 + bat.index * 32 + 24);
    }).save();
    expectBothRefuse(dir, 'bigbat.vhdx', 'vhdx', vhdx, /Input\/output error/, 'Input/output error');
  });
});
