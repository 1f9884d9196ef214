// Virtual sizes beyond 2^53 - 1, which a double cannot hold: qemu-img prints them as exact JSON
// integers, and so must `inspect --qemu-json`; `--json` carries them as decimal text. qemu-img
// refuses to create such images, so each is made small and its size field patched. vpc (2040 GiB)
// and vdi (its block bitmap) cannot reach 2^53; raw, iso and luks take the file's own length.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactJson } from '../../electron/node/core/exact-json.js';
import { qemuInfoChain } from '../../electron/node/core/qemu-info.js';
import type { QemuVersion } from '../../electron/node/core/qemu-version.js';
import { diskchain } from '../support/bin.js';
import { expectSameQemuJson } from '../support/image-kinds.js';
import { be32, be64, patchFile, qemuImg, tempDir } from '../support/qemu.js';
import { QEMU10_MISSING, qemu10Binary } from '../support/qemu10.js';
import { le32, le64 } from './raw/common.js';
import { GUID, VhdxEdit } from './vhdx/fixtures.js';

const QEMU10 = qemu10Binary();
if (!QEMU10) console.log(QEMU10_MISSING);
const TWO53 = 2n ** 53n;

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('diskchain-huge-')));
afterAll(() => cleanup());

/** Each format's image with virtual size `size` (a multiple of 512 qemu accepts), made in `dir`. */
const MAKERS: Record<string, (name: string, size: bigint) => void> = {
  qcow2(name, size) {
    // 2 MiB clusters: one L1 entry maps 2^39 bytes, so the L1 table stays under qemu's 32 MiB.
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', name, '1M');
    const file = path.join(dir, name);
    patchFile(file, 24, be64(size));
    patchFile(file, 36, be32(Number((size + (1n << 39n) - 1n) >> 39n)));
  },
  qcow(name, size) {
    qemuImg(dir, 'create', '-q', '-f', 'qcow', name, '1M');
    const file = path.join(dir, name);
    patchFile(file, 24, be64(size));
    // The largest clusters and L2 tables qemu takes keep the L1 table under INT_MAX / 8 entries.
    patchFile(file, 32, Buffer.from([16, 13]));
  },
  qed(name, size) {
    qemuImg(dir, 'create', '-q', '-f', 'qed', name, '1M');
    const file = path.join(dir, name);
    // 2 MiB clusters and 8-cluster tables allow 2^63 bytes; the L1 table moves to cluster 1.
    patchFile(file, 4, Buffer.concat([le32(2 << 20), le32(8), le32(1)]));
    patchFile(file, 40, Buffer.concat([le64(2n << 20n), le64(size)]));
    fs.truncateSync(file, 32 << 20);
  },
  vmdk(name, size) {
    fs.writeFileSync(path.join(dir, `${name}-flat`), Buffer.alloc(4096));
    const extent = `RW ${size / 512n} FLAT "${name}-flat" 0`;
    fs.writeFileSync(
      path.join(dir, name),
      `# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\n${extent}\n\nddb.adapterType = "ide"\n`,
    );
  },
  // A stream-optimized sparse header's capacity: qemu's L1 size arithmetic wraps, so it opens.
  'vmdk-stream'(name, size) {
    qemuImg(dir, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', name, '1M');
    patchFile(path.join(dir, name), 12, le64(size / 512n));
  },
  vhdx(name, size) {
    // 8 MiB blocks: the data block count is uint32 in qemu, so 2^34 blocks more wrap to the same BAT.
    qemuImg(dir, 'create', '-q', '-f', 'vhdx', '-o', 'block_size=8M', name, '8M');
    const e = new VhdxEdit(path.join(dir, name));
    e.b.writeBigUInt64LE(size, e.item(GUID.virtualSize));
    e.save();
  },
};

const CASES: Array<[string, bigint]> = [
  ['qcow2', TWO53 + 512n],
  ['qcow2', 1n << 61n],
  ['qcow', TWO53 + 512n],
  ['qcow', 1n << 55n],
  ['qed', TWO53 + 512n],
  ['qed', 1n << 62n],
  ['vmdk', TWO53 + 512n],
  ['vmdk', 4503599627370496000n],
  ['vmdk-stream', (TWO53 - 1n) * 512n],
  ['vhdx', (1n << 57n) + (8n << 20n)],
];

/** Every `"virtual-size": N` in JSON text, as digits (what JSON.parse would round). */
const sizeDigits = (text: string): string[] => [...text.matchAll(/"virtual-size": (\d+)/g)].map((m) => m[1]!);

/** qemu-img's JSON text for the image (the text: parsing it would round the sizes). */
function qemuText(binary: string, name: string): string {
  return execFileSync(binary, ['info', '--output=json', '--backing-chain', '-U', path.join(dir, name)], { encoding: 'utf8' });
}

function expectLikeQemu(name: string, version: QemuVersion, theirs: string): void {
  const r = qemuInfoChain(path.join(dir, name), { qemuVersion: version, exactIntegers: true });
  expect(r.error).toBeNull();
  const ours = exactJson(r.entries, 4);
  // Key by key (JSON.parse rounds both alike), then the sizes digit by digit.
  expectSameQemuJson(JSON.parse(ours) as unknown[], JSON.parse(theirs) as unknown[]);
  expect(sizeDigits(ours)).toEqual(sizeDigits(theirs));
}

describe('virtual sizes beyond 2^53, against qemu-img', () => {
  CASES.forEach(([format, size], i) => {
    const name = `h${i}.${format}`;
    it(`${format} of ${size} bytes: --qemu-json as qemu-img 7.2${QEMU10 ? ' and 10' : ''}`, () => {
      MAKERS[format]!(name, size);
      const q72 = qemuText('qemu-img', name);
      expect(sizeDigits(q72)[0]).toBe(String(size));
      expectLikeQemu(name, { major: 7, minor: 2 }, q72);
      if (QEMU10) {
        const q10 = qemuText(QEMU10, name);
        expect(sizeDigits(q10)).toContain(String(size));
        expectLikeQemu(name, { major: 10, minor: 0 }, q10);
      }
    });
  });

  it('the CLI prints qemu-img 7.2 text exactly, and --json keeps the size as its digits', () => {
    const name = 'cli.qcow2';
    MAKERS.qcow2!(name, (1n << 61n) - 512n);
    const q = qemuText('qemu-img', name);
    const r = diskchain(['inspect', '--qemu-json', '--qemu-version', '7.2', path.join(dir, name)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(q);
    const j = diskchain(['inspect', '--json', path.join(dir, name)]);
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout).root.header.virtualSize).toBe(String((1n << 61n) - 512n));
    const t = diskchain(['inspect', path.join(dir, name)]);
    expect(t.stdout).toContain('2 EiB virtual');
  });

  it.each([
    ['qcow2 one L1 entry past the 32 MiB L1 limit', 'qcow2', (1n << 61n) + (1n << 39n), null, /Active L1 table too large/],
    // The L1 index arithmetic wraps in uint64, so only the block layer's length limit refuses it.
    ['qcow2 of 2^64 - 512 bytes', 'qcow2', (1n << 64n) - 512n, 1, /Could not refresh total sector count: File too large/],
    ['qed of 2^63 - 512 bytes', 'qed', (1n << 63n) - 512n, null, /Could not refresh total sector count: File too large/],
  ] as const)('%s: both refuse alike', (_, format, size, l1Size, message) => {
    const name = `over-${size}.${format}`;
    MAKERS[format]!(name, size);
    if (l1Size !== null) patchFile(path.join(dir, name), 36, be32(l1Size));
    expect(() => qemuImg(dir, 'info', name)).toThrow(message);
    expect(qemuInfoChain(path.join(dir, name)).error).toMatch(message);
  });
});
