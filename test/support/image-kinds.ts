// Kinds of image qemu-img makes, each in its own folder, for comparing `inspect --qemu-json`
// with qemu-img itself; and the comparison, key by key and in qemu's key order.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { patchFile, qemuImg, qemuImgLuks } from './qemu.js';

/** Hide a qcow2's backing-format extension (type → an unknown one qemu skips), so qemu probes. */
function dropBackingFormat(file: string): void {
  const head = fs.readFileSync(file).subarray(0, 4096);
  const at = head.indexOf(Buffer.from([0xe2, 0x79, 0x2a, 0xca]));
  if (at < 0) throw new Error('no backing format extension');
  patchFile(file, at, Buffer.from([0x12, 0x34, 0x56, 0x78]));
}

export interface ImageKind {
  name: string;
  /** Makes the images in `d` and returns the name to inspect, relative to `d` (or absolute). */
  make(d: string): string;
}

const q = qemuImg;
export const IMAGE_KINDS: ImageKind[] = [
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
  {
    name: 'qcow2 with a backing format of file (opened as a file node)',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'raw', 'base.img', '1M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.img', '-F', 'file', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'qcow2 on a raw backing',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'raw', 'base.img', '32M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.img', '-F', 'raw', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'qcow2 v2 with a backing',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10,cluster_size=4k', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'internal snapshots in a backing image, bitmaps in the top',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
      q(d, 'snapshot', '-c', 'before', 'base.qcow2');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
      q(d, 'bitmap', '--add', 'top.qcow2', 'dirty');
      return 'top.qcow2';
    },
  },
  {
    name: 'qcow2 1-bit refcounts',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'refcount_bits=1', 'a.qcow2', '64M'), 'a.qcow2'),
  },
  {
    name: 'qcow2 preallocated metadata',
    make: (d) => (q(d, 'create', '-q', '-f', 'qcow2', '-o', 'preallocation=metadata', 'a.qcow2', '16M'), 'a.qcow2'),
  },
  {
    name: 'raw of a length that is not a whole sector',
    make: (d) => (fs.writeFileSync(path.join(d, 'a.img'), Buffer.alloc(1000, 7)), 'a.img'),
  },
  {
    name: 'qcow2 on a twoGbMaxExtentSparse vmdk in a subfolder',
    make: (d) => {
      fs.mkdirSync(path.join(d, 'sub'));
      q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', 'sub/base.vmdk', '3G');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'sub/base.vmdk', '-F', 'vmdk', 'top.qcow2');
      return 'top.qcow2';
    },
  },
  {
    name: 'vmdk monolithicFlat in a subfolder',
    make: (d) => {
      fs.mkdirSync(path.join(d, 'sub'));
      q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'sub/a.vmdk', '16M');
      return 'sub/a.vmdk';
    },
  },
  {
    name: 'vmdk twoGbMaxExtentFlat',
    make: (d) => (q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentFlat', 'a.vmdk', '3G'), 'a.vmdk'),
  },
  {
    name: 'vmdk parent opened as vmdk though its name says qcow2',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'vmdk', 'base.qcow2', '64M');
      q(d, 'create', '-q', '-f', 'vmdk', '-b', 'base.qcow2', '-F', 'vmdk', 'top.vmdk');
      return 'top.vmdk';
    },
  },
  { name: 'vhdx with 1M blocks', make: (d) => (q(d, 'create', '-q', '-f', 'vhdx', '-o', 'block_size=1M', 'a.vhdx', '64M'), 'a.vhdx') },
  { name: 'vpc dynamic, forced size', make: (d) => (q(d, 'create', '-q', '-f', 'vpc', '-o', 'force_size=on', 'a.vhd', '100M'), 'a.vhd') },
  {
    name: 'qcow2 with a raw data file and a bitmap',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw,data_file_raw=on', 'a.qcow2', '64M');
      q(d, 'bitmap', '--add', 'a.qcow2', 'b0');
      return 'a.qcow2';
    },
  },
  {
    name: 'qcow2 on qcow2 with a data file, both in a subfolder',
    make: (d) => {
      fs.mkdirSync(path.join(d, 'vm'));
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=base.raw', 'vm/base.qcow2', '32M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm/top.qcow2');
      return 'vm/top.qcow2';
    },
  },
];

/** A fresh folder for one kind under `dir`, so names never collide. */
export function kindDir(dir: string, name: string): string {
  const d = path.join(dir, name.replace(/[^a-z0-9]+/gi, '_'));
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** `BINARY info --output=json --backing-chain -U target`, parsed (key order kept). */
export function qemuChainInfo(binary: string, cwd: string, target: string): unknown[] {
  const out = execFileSync(binary, ['info', '--output=json', '--backing-chain', '-U', target], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as unknown[];
}

/** Equal value by value (a failure names the layer and key), then equal in key order. */
export function expectSameQemuJson(actual: unknown[], expected: unknown[]): void {
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as Record<string, unknown>;
    const e = expected[i] as Record<string, unknown>;
    for (const key of new Set([...Object.keys(e), ...Object.keys(a)])) {
      expect({ layer: i, key, value: a[key] }).toEqual({ layer: i, key, value: e[key] });
    }
  }
  // toEqual ignores key order; the text does not.
  expect(JSON.stringify(actual, null, 1)).toBe(JSON.stringify(expected, null, 1));
}
