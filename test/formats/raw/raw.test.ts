import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferSource } from '../../../electron/node/core/source.js';
import { FORMATS, probeFormat } from '../../../electron/node/core/formats/index.js';
import { raw } from '../../../electron/node/core/formats/raw.js';
import { qemuImg, qemuInfo, tempDir } from '../../support/qemu.js';
import { expectLikeQemu, probeAndParse } from './common.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir('diskchain-raw-'));
  qemuImg(dir, 'create', '-q', '-f', 'raw', 'disk.img', '64M');
});

afterAll(() => cleanup());

const at = (name: string) => path.join(dir, name);

describe('raw', () => {
  it('made by qemu-img', () => {
    const { probed, parsed } = probeAndParse(at('disk.img'), raw);
    expect(probed).toBe('raw');
    expectLikeQemu(parsed, qemuInfo(dir, 'disk.img'));
    expect(parsed.backing).toBeNull();
  });

  it('a size that is not a whole number of sectors is rounded up', () => {
    fs.writeFileSync(at('odd.img'), Buffer.alloc(1000, 1));
    const { parsed } = probeAndParse(at('odd.img'), raw);
    expect(parsed.header.virtualSize).toBe(1024);
    expectLikeQemu(parsed, qemuInfo(dir, 'odd.img'));
  });

  it('an empty file: every probe passes, raw wins', () => {
    fs.writeFileSync(at('empty.img'), Buffer.alloc(0));
    const { probed, parsed } = probeAndParse(at('empty.img'), raw);
    expect(probed).toBe('raw');
    expectLikeQemu(parsed, qemuInfo(dir, 'empty.img'));
  });

  it('random bytes: never claimed by a header format by accident, probes bounded', () => {
    for (let seed = 1; seed < 100; seed++) {
      const b = Buffer.alloc(40000);
      let x = seed;
      for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
      const src = bufferSource(b);
      for (const f of FORMATS) expect(() => f.probe(src)).not.toThrow();
      expect(probeFormat(src)).toBe('raw');
      expect(src.bytesRead).toBeLessThan(8192);
    }
  });

  it('tiny files of every length up to 8 bytes', () => {
    for (let n = 0; n <= 8; n++) {
      const src = bufferSource(Buffer.alloc(n, 0x41));
      expect(probeFormat(src)).toBe('raw');
      expect(raw.parse(src).header.virtualSize).toBe(Math.ceil(n / 512) * 512);
    }
  });
});
