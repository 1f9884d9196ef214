// `diskchain inspect --qemu-json` against `qemu-img info --backing-chain --output=json`, field by
// field, on images qemu-img makes here and now.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchFile, qemuImg, qemuImgLuks, tempDir } from '../support/qemu.js';
import { runCli } from '../support/cli.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => ({ dir, cleanup } = tempDir('qemu-json-')));
afterAll(() => cleanup());

/** A fresh folder per case, so names never collide. */
function caseDir(name: string): string {
  const d = path.join(dir, name.replace(/[^a-z0-9]+/gi, '_'));
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** Hide a qcow2's backing-format extension (type → an unknown one qemu skips), so qemu probes. */
function dropBackingFormat(file: string): void {
  const head = fs.readFileSync(file).subarray(0, 4096);
  const at = head.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
  if (at < 0) throw new Error('no backing format extension');
  patchFile(file, at, Buffer.from([0x12, 0x34, 0x56, 0x78]));
}

interface Case {
  name: string;
  /** Makes the images in `d` and returns the name to inspect, relative to `d` (or absolute). */
  make(d: string): string;
}

const q = qemuImg;
const cases: Case[] = [
  { name: 'qcow2 v3', make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', 'a.qcow2', '64M'), 'a.qcow2') },
  { name: 'qcow2 v2 (compat 0.10)', make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', 'a.qcow2', '1G'), 'a.qcow2') },
  {
    name: 'qcow2 relative backing with format',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'qcow2 backing without recorded format (probed)',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      dropBackingFormat(path.join(d, 'top.qcow2'));
      return 'top.qcow2';
    },
  },
  {
    name: 'qcow2 absolute backing name',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', path.join(d, 'base.qcow2'), '-F', 'qcow2', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'cross-folder backing names (../ and sub/../)',
    make: (d) => {
      fs.mkdirSync(path.join(d, 'bases'));
      fs.mkdirSync(path.join(d, 'vms/sub'), { recursive: true });
      q(d, 'create', '-q', '-f', 'qcow2', 'bases/base.qcow2', '64M');
      q(path.join(d, 'vms'), 'create', '-q', '-f', 'qcow2', '-b', '../bases/base.qcow2', '-F', 'qcow2', 'mid.qcow2');
      q(path.join(d, 'vms'), 'create', '-q', '-f', 'qcow2', '-b', 'sub/../mid.qcow2', '-F', 'qcow2', 'top.qcow2');
      return 'vms/top.qcow2';
    },
  },
  {
    name: 'top given as absolute path',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      return path.join(d, 'top.qcow2');
    },
  },
  {
    name: 'top given as ./name through a symlink',
    make: (d) => {
      fs.mkdirSync(path.join(d, 'real'));
      q(d, 'create', '-q', '-f', 'qcow2', 'real/base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'real/top.qcow2');
      fs.symlinkSync('real', path.join(d, 'link'));
      return './link/top.qcow2';
    },
  },
  {
    name: '3-deep chain with a data file in the middle',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=mid.raw', '-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'data file with data_file_raw',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw,data_file_raw=on', 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'data file without data_file_raw',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw', 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'data file with an absolute name',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${d}/d.raw`, 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'names with spaces',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'my base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'my base.qcow2', '-F', 'qcow2', 'my top.qcow2');
      return 'my top.qcow2';
    },
  },
  {
    name: 'non-ASCII names',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'básé-ディスク.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'básé-ディスク.qcow2', '-F', 'qcow2', 'топ.qcow2');
      return 'топ.qcow2';
    },
  },
  {
    name: 'bitmaps',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'a.qcow2', '64M');
      q(d, 'bitmap', '--add', 'a.qcow2', 'b0');
      q(d, 'bitmap', '--add', '-g', '128k', 'a.qcow2', 'b1');
      q(d, 'bitmap', '--disable', 'a.qcow2', 'b1');
      return 'a.qcow2';
    },
  },
  {
    name: 'internal snapshots',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'a.qcow2', '64M');
      for (const n of ['s1', `long ${'n'.repeat(200)}`, 'with space']) q(d, 'snapshot', '-c', n, 'a.qcow2');
      return 'a.qcow2';
    },
  },
  {
    name: 'zstd compression type',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'extended L2',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=128k', 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'lazy refcounts and 64-bit refcounts',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'lazy_refcounts=on,refcount_bits=64', 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'dirty bit',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'lazy_refcounts=on', 'a.qcow2', '64M');
      patchFile(path.join(d, 'a.qcow2'), 79, Buffer.from([1])); // incompatible_features bit 0
      return 'a.qcow2';
    },
  },
  {
    name: 'cluster size 2M and 512',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'encrypted qcow2 (luks)',
    make: (d) => (
      qemuImgLuks(
        d,
        'create',
        '-q',
        '-f',
        'qcow2',
        '--object',
        'secret,id=s0,data=pw',
        '-o',
        'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10',
        'a.qcow2',
        '16M',
      ),
      'a.qcow2'
    ),
  },
  { name: 'qcow v1', make: (d) => (q(d, 'create', '-q', '-f', 'qcow', 'a.qcow', '64M'), 'a.qcow') },
  {
    name: 'qcow v1 with backing',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow', 'base.qcow', '64M');
      q(d, 'create', '-q', '-f', 'qcow', '-b', 'base.qcow', '-F', 'qcow', 'top.qcow');
      return 'top.qcow';
    },
  },
  { name: 'qed', make: (d) => (q(d, 'create', '-q', '-f', 'qed', 'a.qed', '64M'), 'a.qed') },
  {
    name: 'qed on a raw backing',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'raw', 'base.img', '64M');
      q(d, 'create', '-q', '-f', 'qed', '-b', 'base.img', '-F', 'raw', 'top.qed');
      return 'top.qed';
    },
  },
  { name: 'vmdk monolithicSparse', make: (d) => (q(d, 'create', '-q', '-f', 'vmdk', 'a.vmdk', '64M'), 'a.vmdk') },
  {
    name: 'vmdk with a backing vmdk',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'vmdk', 'base.vmdk', '64M');
      q(d, 'create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', 'top.vmdk');
      return 'top.vmdk';
    },
  },
  {
    name: 'vmdk streamOptimized',
    make: (d) => (q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', 'a.vmdk', '64M'), 'a.vmdk'),
  },
  {
    name: 'vmdk monolithicFlat (descriptor + extent)',
    make: (d) => (q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'a.vmdk', '64M'), 'a.vmdk'),
  },
  {
    name: 'vmdk twoGbMaxExtentSparse',
    make: (d) => (q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', 'a.vmdk', '3G'), 'a.vmdk'),
  },
  { name: 'vdi', make: (d) => (q(d, 'create', '-q', '-f', 'vdi', 'a.vdi', '64M'), 'a.vdi') },
  { name: 'vdi static', make: (d) => (q(d, 'create', '-q', '-f', 'vdi', '-o', 'static=on', 'a.vdi', '8M'), 'a.vdi') },
  { name: 'vpc dynamic', make: (d) => (q(d, 'create', '-q', '-f', 'vpc', 'a.vhd', '64M'), 'a.vhd') },
  { name: 'vpc fixed', make: (d) => (q(d, 'create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', 'a.vhd', '8M'), 'a.vhd') },
  { name: 'vhdx', make: (d) => (q(d, 'create', '-q', '-f', 'vhdx', 'a.vhdx', '64M'), 'a.vhdx') },
  {
    name: 'luks',
    make: (d) => (
      qemuImgLuks(d, 'create', '-q', '-f', 'luks', '--object', 'secret,id=s0,data=pw', '-o', 'key-secret=s0,iter-time=10', 'a.luks', '16M'),
      'a.luks'
    ),
  },
  { name: 'raw', make: (d) => (q(d, 'create', '-q', '-f', 'raw', 'a.img', '64M'), 'a.img') },
  {
    name: 'qcow2 on qed on vmdk on vmdk (mixed chain)',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'vmdk', 'base.vmdk', '64M');
      q(d, 'create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', 'mid.vmdk');
      q(d, 'create', '-q', '-f', 'qed', '-b', 'mid.vmdk', '-F', 'vmdk', 'mid.qed');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'mid.qed', '-F', 'qed', 'top.qcow2');
      return 'top.qcow2';
    },
  },
];

describe('inspect --qemu-json matches qemu-img info --backing-chain', () => {
  it('has at least 25 kinds of image', () => expect(cases.length).toBeGreaterThanOrEqual(25));

  for (const c of cases) {
    it(c.name, () => {
      const d = caseDir(c.name);
      const target = c.make(d);
      const expected = JSON.parse(q(d, 'info', '--output=json', '--backing-chain', '-U', target));
      const r = runCli(['inspect', '--qemu-json', target], { cwd: d });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const actual = JSON.parse(r.stdout);
      expect(actual).toHaveLength(expected.length);
      for (let i = 0; i < expected.length; i++) {
        // Field by field, so a failure names the key.
        for (const key of new Set([...Object.keys(expected[i]), ...Object.keys(actual[i])])) {
          expect({ layer: i, key, value: actual[i][key] }).toEqual({ layer: i, key, value: expected[i][key] });
        }
      }
    });
  }
});
