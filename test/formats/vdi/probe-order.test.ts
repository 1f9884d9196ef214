// A file with two magics: VDI's signature at 64 plus another format's at 0. qemu's probe gives both
// the same score and keeps the first driver in its list: qed before vdi, vdi before the others.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeFormat } from '../../../electron/node/core/formats/index.js';
import { withSource } from '../../support/format-source.js';
import { qemuImg, qemuImgLuks, tempDir } from '../../support/qemu.js';
import { patchedCopy } from '../raw/common.js';

let dir: string;
let cleanup: () => void;
const VDI_SIGNATURE = Buffer.from('7f10dabe', 'hex');

beforeAll(() => ({ dir, cleanup } = tempDir('diskchain-probe-order-')));
afterAll(() => cleanup());

/** The driver qemu-img names for the file, from its JSON or its error. */
function qemuPicks(file: string): string {
  try {
    return JSON.parse(qemuImg(dir, 'info', '--output=json', '-U', file)).format;
  } catch (e) {
    const m = /unsupported VDI image|Unsupported VDI image/.exec(String((e as { stderr?: string }).stderr));
    return m ? 'vdi' : `refused: ${String((e as { stderr?: string }).stderr)}`;
  }
}

const makers: Array<[string, (name: string) => void]> = [
  ['qcow2', (n) => qemuImg(dir, 'create', '-q', '-f', 'qcow2', n, '16M')],
  ['qcow', (n) => qemuImg(dir, 'create', '-q', '-f', 'qcow', n, '16M')],
  ['qed', (n) => qemuImg(dir, 'create', '-q', '-f', 'qed', n, '16M')],
  ['vmdk', (n) => qemuImg(dir, 'create', '-q', '-f', 'vmdk', n, '16M')],
  ['vpc', (n) => qemuImg(dir, 'create', '-q', '-f', 'vpc', n, '16M')],
  ['vhdx', (n) => qemuImg(dir, 'create', '-q', '-f', 'vhdx', n, '16M')],
  [
    'luks',
    (n) => qemuImgLuks(dir, 'create', '-q', '-f', 'luks', '--object', 'secret,id=s0,data=pw', '-o', 'key-secret=s0,iter-time=10', n, '1M'),
  ],
];

describe('probe: two magics in one file', () => {
  for (const [fmt, make] of makers) {
    it(`${fmt} magic at 0 plus the VDI signature at 64: the same format as qemu-img`, () => {
      make(`${fmt}.img`);
      patchedCopy(dir, `${fmt}.img`, `${fmt}+vdi.img`, [[64, VDI_SIGNATURE]]);
      const ours = withSource(path.join(dir, `${fmt}+vdi.img`), probeFormat);
      expect(ours).toBe(qemuPicks(`${fmt}+vdi.img`));
      expect(ours).toBe(fmt === 'qed' ? 'qed' : 'vdi');
      fs.rmSync(path.join(dir, `${fmt}.img`));
    });
  }
});
