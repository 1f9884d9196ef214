// Legacy qcow (version 1): header checks in the order of qemu 7.2's qcow_open(), qemu's wording.
// Header (big-endian, 48 bytes): magic, version, backing_file_offset u64, backing_file_size u32,
// mtime u32, size u64, cluster_bits u8, l2_bits u8, padding u16, crypt_method u32,
// l1_table_offset u64. No backing format is recorded; qemu-img shows no format-specific data.
import type { HeaderInfo, Problem } from '../../../../shared/model.js';
import { HeaderError, type ImageSource } from '../source.js';
import type { ChildName, FormatModule, ParsedImage } from './types.js';
import { headBytes } from './common/block-reads.js';
import { backingExtra, childFromName, namePastEof } from './common/child-name.js';
import { INT_MAX, U64 } from './common/limits.js';
import { exact } from './common/numbers.js';
import { QCOW_MAGIC } from './common/qcow-magic.js';
import { ZeroFillReader } from './common/zero-fill-reader.js';

function probe(src: ImageSource): number {
  const h = headBytes(src, 8);
  return h.readUInt32BE(0) === QCOW_MAGIC && h.readUInt32BE(4) === 1 ? 100 : 0;
}

function parse(src: ImageSource): ParsedImage {
  const r = new ZeroFillReader(src);
  const h = r.read(0, 48, 'Could not read qcow header');
  if (h.readUInt32BE(0) !== QCOW_MAGIC) throw new HeaderError('Image not in qcow format');
  const version = h.readUInt32BE(4);
  if (version !== 1) {
    const hint = version === 2 || version === 3 ? "\nTry the 'qcow2' driver instead." : '';
    throw new HeaderError(`qcow (v1) does not support qcow version ${version}${hint}`, 'unsupported-feature');
  }
  const backingFileOffset = h.readBigUInt64BE(8);
  const backingFileSize = h.readUInt32BE(16);
  const mtime = h.readUInt32BE(20);
  const size = h.readBigUInt64BE(24);
  const clusterBits = h[32]!;
  const l2Bits = h[33]!;
  const cryptMethod = h.readUInt32BE(36);
  const l1TableOffset = h.readBigUInt64BE(40);

  if (size <= 1n) throw new HeaderError('Image size is too small (must be at least 2 bytes)');
  if (clusterBits < 9 || clusterBits > 16) throw new HeaderError('Cluster size must be between 512 and 64k');
  if (l2Bits < 9 - 3 || l2Bits > 16 - 3) throw new HeaderError('L2 table size must be between 512 and 64k');
  if (cryptMethod > 1) throw new HeaderError('invalid encryption method in qcow header');

  const shift = BigInt(clusterBits + l2Bits);
  if (size > U64 - (1n << shift)) throw new HeaderError('Image too large');
  const l1Size = (size + (1n << shift) - 1n) >> shift;
  if (l1Size > BigInt(Math.floor(INT_MAX / 8))) throw new HeaderError('Image too large');
  // qemu reads the L1 table here; only a request past its length limit can fail.
  r.check(l1TableOffset, Number(l1Size) * 8, 'Could not open image');

  const problems: Problem[] = [];
  let backing: ChildName | null = null;
  if (backingFileOffset !== 0n) {
    if (backingFileSize > 1023) throw new HeaderError('Backing file name too long');
    const backingRaw = r.read(backingFileOffset, backingFileSize, 'Could not open image');
    const pastEof = namePastEof(backingFileOffset, backingRaw, src.size);
    const b = childFromName(backingRaw, null, 'backing file', { pastEof });
    backing = b.child;
    problems.push(...b.problems);
  }

  const virtualSize = exact((size / 512n) * 512n);
  const clusterSize = 2 ** clusterBits;
  const fields: HeaderInfo['fields'] = {
    version,
    backing_file_offset: exact(backingFileOffset),
    backing_file_size: backingFileSize,
    mtime,
    size: exact(size),
    cluster_bits: clusterBits,
    l2_bits: l2Bits,
    crypt_method: cryptMethod,
    l1_table_offset: exact(l1TableOffset),
  };
  const header: HeaderInfo = {
    format: 'qcow',
    virtualSize,
    clusterSize,
    encrypted: cryptMethod !== 0,
    dirty: false,
    fields,
    extensions: [],
    formatSpecific: null,
  };
  return { header, backing, dataFile: null, problems, qemuExtra: backingExtra(backing) };
}

export const qcow: FormatModule = { name: 'qcow', probe, parse };
