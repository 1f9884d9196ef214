// Cases the differential fuzzer found where diskchain and qemu-img 7.2 disagreed on a QED image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { qed } from '../../../electron/node/core/formats/qed.js';
import { qemuImg, qemuInfo, tempDir } from '../../support/qemu.js';
import { expectBothRefuse, expectLikeQemu, patchedCopy, probeAndParse } from '../raw/common.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-qed-fidelity-'));
  qemuImg(dir, 'create', '-q', '-f', 'qed', 'a.qed', '16M');
});

afterAll(() => cleanup());

/** Where the last cluster of the L1 table starts in the image qemu-img made, and the cluster size. */
function layout(): { last: number; cs: number } {
  const h = fs.readFileSync(path.join(dir, 'a.qed'));
  const cs = h.readUInt32LE(4);
  return { last: Number(h.readBigUInt64LE(40)) + (h.readUInt32LE(8) - 1) * cs, cs };
}

describe('qed: table offsets against the file length as qemu sees it', () => {
  it('rounds the file length up to a sector before rounding it down to a cluster', () => {
    // 511 bytes short of the L1 table's end: a whole cluster more to qemu once rounded up to a
    // sector, so the table's last cluster lies inside the file; rounded down directly, it would not.
    const { last, cs } = layout();
    patchedCopy(dir, 'a.qed', 'short.qed', [], last + cs - 511);
    expectLikeQemu(probeAndParse(path.join(dir, 'short.qed'), qed).parsed, qemuInfo(dir, 'short.qed'));
  });

  it('still refuses a file a whole sector short of that cluster', () => {
    const { last, cs } = layout();
    patchedCopy(dir, 'a.qed', 'shorter.qed', [], last + cs - 512);
    expectBothRefuse(dir, 'shorter.qed', 'qed', qed, 'QED table offset is invalid');
  });
});
