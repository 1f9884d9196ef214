// The seed images of the differential fuzzer: one of every format and layout qemu-img makes, each
// in a folder of its own with the files it names (backing, data file, extents), plus where its
// header fields lie so mutations can aim at them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vhdxCrc32c } from '../../../electron/node/core/formats/vhdx.js';
import { qemuImg, qemuImgLuks } from '../../support/qemu.js';

/** A header field: byte offset (negative: from the end of the file), width, byte order. */
export interface Field {
  name: string;
  at: number;
  width: 1 | 2 | 4 | 8;
  le?: boolean;
}

export interface Seed {
  kind: string;
  /** The folder holding the image and the files it names. */
  dir: string;
  /** The image's extension; each case is written as `c<N>.<ext>` next to the seed. */
  ext: string;
  bytes: Buffer;
  fields: Field[];
  /** Byte ranges worth flipping ([offset, length], negative offset: from the end). */
  regions: Array<[number, number]>;
  /** Whether the image is a text descriptor (numbers in it are mutated as text too). */
  text?: boolean;
  /** The format given to both sides (`-f`); probed when absent. */
  format?: string;
  /** Recomputes the checksums the format keeps, so a mutation gets past them. */
  fixup?(b: Buffer): void;
}

interface SeedSpec {
  kind: string;
  ext: string;
  /** Makes the image `a.<ext>` (and its companions) in `d`. */
  make(d: string): void;
  fields: Field[];
  regions: Array<[number, number]>;
  text?: boolean;
  format?: string;
  fixup?(b: Buffer): void;
}

const be = (name: string, at: number, width: Field['width']): Field => ({ name, at, width });
const le = (name: string, at: number, width: Field['width']): Field => ({ name, at, width, le: true });

const QCOW2_FIELDS: Field[] = [
  be('version', 4, 4),
  be('backing_file_offset', 8, 8),
  be('backing_file_size', 16, 4),
  be('cluster_bits', 20, 4),
  be('size', 24, 8),
  be('crypt_method', 32, 4),
  be('l1_size', 36, 4),
  be('l1_table_offset', 40, 8),
  be('refcount_table_offset', 48, 8),
  be('refcount_table_clusters', 56, 4),
  be('nb_snapshots', 60, 4),
  be('snapshots_offset', 64, 8),
  be('incompatible_features', 72, 8),
  be('compatible_features', 80, 8),
  be('autoclear_features', 88, 8),
  be('refcount_order', 96, 4),
  be('header_length', 100, 4),
  be('ext0_type', 104, 4),
  be('ext0_length', 108, 4),
  be('ext1_type', 112, 4),
  be('ext1_length', 116, 4),
];

const QCOW_FIELDS: Field[] = [
  be('version', 4, 4),
  be('backing_file_offset', 8, 8),
  be('backing_file_size', 16, 4),
  be('size', 24, 8),
  be('cluster_bits', 32, 1),
  be('l2_bits', 33, 1),
  be('crypt_method', 36, 4),
  be('l1_table_offset', 40, 8),
];

const QED_FIELDS: Field[] = [
  le('cluster_size', 4, 4),
  le('table_size', 8, 4),
  le('header_size', 12, 4),
  le('features', 16, 8),
  le('compat_features', 24, 8),
  le('autoclear_features', 32, 8),
  le('l1_table_offset', 40, 8),
  le('image_size', 48, 8),
  le('backing_filename_offset', 56, 4),
  le('backing_filename_size', 60, 4),
];

const VDI_FIELDS: Field[] = [
  le('signature', 64, 4),
  le('version', 68, 4),
  le('header_size', 72, 4),
  le('image_type', 76, 4),
  le('image_flags', 80, 4),
  le('offset_bmap', 340, 4),
  le('offset_data', 344, 4),
  le('cylinders', 348, 4),
  le('heads', 352, 4),
  le('sectors', 356, 4),
  le('sector_size', 360, 4),
  le('disk_size', 368, 8),
  le('block_size', 376, 4),
  le('block_extra', 380, 4),
  le('blocks_in_image', 384, 4),
  le('blocks_allocated', 388, 4),
];

/** A VHD footer's fields at `base` (0 for the copy at the start, -512 for the one at the end). */
function vpcFooter(base: number): Field[] {
  const f = (name: string, at: number, width: Field['width']) => be(`${base < 0 ? 'end.' : ''}${name}`, base + at, width);
  return [
    f('features', 8, 4),
    f('version', 12, 4),
    f('data_offset', 16, 8),
    f('creator_app', 28, 4),
    f('orig_size', 40, 8),
    f('current_size', 48, 8),
    f('cylinders', 56, 2),
    f('heads', 58, 1),
    f('secs_per_cyl', 59, 1),
    f('type', 60, 4),
  ];
}

const VPC_DYN_FIELDS: Field[] = [
  be('dyn.data_offset', 512 + 8, 8),
  be('dyn.table_offset', 512 + 16, 8),
  be('dyn.version', 512 + 24, 4),
  be('dyn.max_table_entries', 512 + 28, 4),
  be('dyn.block_size', 512 + 32, 4),
];

function vpcSum(b: Buffer, at: number): void {
  if (at < 0 || at + 512 > b.length || b.toString('latin1', at, at + 8) !== 'conectix') return;
  b.writeUInt32BE(0, at + 64);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum = (sum + b[i]!) >>> 0;
  b.writeUInt32BE(~sum >>> 0, at + 64);
}

const vpcFixup = (b: Buffer): void => {
  vpcSum(b, 0);
  vpcSum(b, b.length - 512);
};

const K64 = 64 * 1024;
const VHDX_FIELDS: Field[] = [
  ...[K64, 2 * K64].flatMap((h, i) => [
    le(`header${i + 1}.sequence_number`, h + 8, 8),
    le(`header${i + 1}.log_version`, h + 64, 2),
    le(`header${i + 1}.version`, h + 66, 2),
    le(`header${i + 1}.log_length`, h + 68, 4),
    le(`header${i + 1}.log_offset`, h + 72, 8),
  ]),
  ...[3 * K64, 4 * K64].flatMap((r, i) => [
    le(`region${i + 1}.entry_count`, r + 8, 4),
    le(`region${i + 1}.e0.file_offset`, r + 32, 8),
    le(`region${i + 1}.e0.length`, r + 40, 4),
    le(`region${i + 1}.e0.required`, r + 44, 4),
    le(`region${i + 1}.e1.file_offset`, r + 64, 8),
    le(`region${i + 1}.e1.length`, r + 72, 4),
  ]),
];

function vhdxFixup(b: Buffer): void {
  for (const [at, len] of [
    [K64, 4096],
    [2 * K64, 4096],
    [3 * K64, K64],
    [4 * K64, K64],
  ] as const) {
    if (at + len <= b.length) b.writeUInt32LE(vhdxCrc32c(b.subarray(at, at + len), 4), at + 4);
  }
}

const VMDK_SPARSE_FIELDS: Field[] = [
  le('version', 4, 4),
  le('flags', 8, 4),
  le('capacity', 12, 8),
  le('granularity', 20, 8),
  le('desc_offset', 28, 8),
  le('desc_size', 36, 8),
  le('num_gtes_per_gt', 44, 4),
  le('rgd_offset', 48, 8),
  le('gd_offset', 56, 8),
  le('grain_offset', 64, 8),
  le('compress_algorithm', 77, 2),
];

const LUKS_FIELDS: Field[] = [
  be('version', 6, 2),
  be('payload_offset', 104, 4),
  be('key_bytes', 108, 4),
  be('mk_digest_iterations', 196, 4),
  ...[0, 1].flatMap((s) => [
    be(`slot${s}.active`, 208 + 48 * s, 4),
    be(`slot${s}.iterations`, 212 + 48 * s, 4),
    be(`slot${s}.key_offset`, 248 + 48 * s, 4),
    be(`slot${s}.stripes`, 252 + 48 * s, 4),
  ]),
];

const HEAD: Array<[number, number]> = [[0, 4096]];
const q = qemuImg;
const LUKS_OPTS = ['--object', 'secret,id=s0,data=pw', '-o', 'key-secret=s0,iter-time=10'];

const SPECS: SeedSpec[] = [
  {
    kind: 'qcow2 v3 + backing',
    ext: 'qcow2',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '16M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'a.qcow2');
    },
    fields: QCOW2_FIELDS,
    regions: [[0, 1024]],
  },
  {
    kind: 'qcow2 v2 + raw backing',
    ext: 'qcow2',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'raw', 'base.img', '1M');
      q(d, 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'base.img', '-F', 'raw', 'a.qcow2');
    },
    fields: QCOW2_FIELDS.slice(0, 12),
    regions: [[0, 1024]],
  },
  {
    kind: 'qcow2 v3 + data file',
    ext: 'qcow2',
    make: (d) => q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d.raw,data_file_raw=on', 'a.qcow2', '16M'),
    fields: QCOW2_FIELDS,
    regions: [[0, 1024]],
  },
  {
    kind: 'qcow2 v3 + unprobed backing',
    ext: 'qcow2',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'vdi', 'base.vdi', '16M');
      q(d, 'create', '-q', '-f', 'qcow2', '-b', 'base.vdi', '-F', 'vdi', 'a.qcow2');
      // The backing-format extension's type made unknown (qemu skips it), so the backing is probed.
      const file = path.join(d, 'a.qcow2');
      const b = fs.readFileSync(file);
      b.writeUInt32BE(0x12345678, b.indexOf(Buffer.from('e2792aca', 'hex')));
      fs.writeFileSync(file, b);
    },
    fields: QCOW2_FIELDS,
    regions: [[0, 1024]],
  },
  {
    kind: 'qcow + backing',
    ext: 'qcow',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'qcow', 'base.qcow', '16M');
      q(d, 'create', '-q', '-f', 'qcow', '-b', 'base.qcow', '-F', 'qcow', 'a.qcow');
    },
    fields: QCOW_FIELDS,
    regions: [[0, 512]],
  },
  {
    kind: 'qed + raw backing',
    ext: 'qed',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'raw', 'base.img', '1M');
      q(d, 'create', '-q', '-f', 'qed', '-b', 'base.img', '-F', 'raw', 'a.qed', '16M');
    },
    fields: QED_FIELDS,
    regions: [[0, 512]],
  },
  {
    kind: 'vdi dynamic',
    ext: 'vdi',
    make: (d) => q(d, 'create', '-q', '-f', 'vdi', 'a.vdi', '16M'),
    fields: VDI_FIELDS,
    regions: [[0, 1024]],
  },
  {
    kind: 'vdi static',
    ext: 'vdi',
    make: (d) => q(d, 'create', '-q', '-f', 'vdi', '-o', 'static=on', 'a.vdi', '1M'),
    fields: VDI_FIELDS,
    regions: [[0, 1024]],
  },
  {
    kind: 'vpc dynamic',
    ext: 'vhd',
    make: (d) => q(d, 'create', '-q', '-f', 'vpc', 'a.vhd', '16M'),
    fields: [...vpcFooter(0), ...VPC_DYN_FIELDS, ...vpcFooter(-512)],
    regions: [
      [0, 1536],
      [-512, 512],
    ],
    fixup: vpcFixup,
  },
  {
    kind: 'vpc fixed',
    ext: 'vhd',
    make: (d) => q(d, 'create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', 'a.vhd', '1M'),
    fields: vpcFooter(-512),
    regions: [
      [0, 512],
      [-512, 512],
    ],
    fixup: vpcFixup,
  },
  {
    // A fixed VHD probes as raw: only an explicit format reaches its footer.
    kind: 'vpc fixed, -f vpc',
    ext: 'vhd',
    format: 'vpc',
    make: (d) => q(d, 'create', '-q', '-f', 'vpc', '-o', 'subformat=fixed', 'a.vhd', '1M'),
    fields: vpcFooter(-512),
    regions: [[-512, 512]],
    fixup: vpcFixup,
  },
  {
    kind: 'vhdx',
    ext: 'vhdx',
    make: (d) => q(d, 'create', '-q', '-f', 'vhdx', '-o', 'block_size=1M,log_size=1M', 'a.vhdx', '16M'),
    fields: VHDX_FIELDS,
    regions: [
      [0, 512],
      [K64, 128],
      [3 * K64, 128],
      [1024 * 1024 * 2, 512],
    ],
    fixup: vhdxFixup,
  },
  {
    kind: 'vmdk monolithicSparse + backing',
    ext: 'vmdk',
    make: (d) => {
      q(d, 'create', '-q', '-f', 'vmdk', 'base.vmdk', '16M');
      q(d, 'create', '-q', '-f', 'vmdk', '-b', 'base.vmdk', '-F', 'vmdk', 'a.vmdk');
    },
    fields: VMDK_SPARSE_FIELDS,
    regions: [[0, 1536]],
    text: true,
  },
  {
    kind: 'vmdk monolithicFlat',
    ext: 'vmdk',
    make: (d) => q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', 'a.vmdk', '1M'),
    fields: [],
    regions: HEAD,
    text: true,
  },
  {
    kind: 'vmdk streamOptimized',
    ext: 'vmdk',
    make: (d) => q(d, 'create', '-q', '-f', 'vmdk', '-o', 'subformat=streamOptimized', 'a.vmdk', '16M'),
    fields: VMDK_SPARSE_FIELDS,
    regions: [
      [0, 1536],
      [-1536, 1536],
    ],
    text: true,
  },
  {
    kind: 'luks',
    ext: 'luks',
    make: (d) => qemuImgLuks(d, 'create', '-q', '-f', 'luks', ...LUKS_OPTS, 'a.luks', '1M'),
    fields: LUKS_FIELDS,
    regions: [[0, 592]],
  },
  {
    kind: 'raw',
    ext: 'img',
    make: (d) => q(d, 'create', '-q', '-f', 'raw', 'a.img', '1M'),
    fields: [],
    regions: [[0, 4096]],
  },
];

/** Makes every seed under `root` (one qemu-img run or two each). */
export function makeSeeds(root: string): Seed[] {
  return SPECS.map((s, i) => {
    const dir = path.join(root, `s${i}`);
    fs.mkdirSync(dir);
    s.make(dir);
    const { make: _make, ...rest } = s;
    return { ...rest, dir, bytes: fs.readFileSync(path.join(dir, `a.${s.ext}`)) };
  });
}
