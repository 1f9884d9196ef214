// VHD ("vpc" in qemu): a 512-byte big-endian footer, copied at offset 0 for dynamic and
// differencing disks, only at the end for fixed ones. Follows qemu 7.2's vpc_probe() (offset 0
// only: a fixed VHD probes as raw) and vpc_open(). qemu does not follow VHD parent locators.
import { HeaderError, MAX_READ, READ_BUDGET, type ImageSource } from '../source.js';
import { bdrvLength, bdrvRefuses, preadZ as bdrvPread } from './common/block-reads.js';
import { INT_MAX, U64 } from './common/limits.js';
import { exact, isPow2 } from './common/numbers.js';
import { standalone, type FormatModule, type ParsedImage } from './types.js';

const HEADER_SIZE = 512;
const VHD_FIXED = 2;
const VHD_DYNAMIC = 3;
const VHD_DIFFERENCING = 4;
const VHD_MAX_SECTORS = 0xff000000n;
const VHD_MAX_GEOMETRY = 65535n * 16n * 255n;

/** bdrv_pread(): zero-filled past the end of the file; impossible offsets fail with `what`. */
function preadZ(src: ImageSource, offset: bigint, length: number, what: string): Buffer {
  return bdrvPread(src, offset, length, what, what);
}

function checksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) sum = (sum + buf[i]!) >>> 0;
  return ~sum >>> 0;
}

function ascii(b: Buffer, at: number, len: number): string {
  return b.toString('latin1', at, at + len).replace(/\0+$/, '');
}

/** C strncmp(a, lit, n) === 0 for a fixed-size field (stops at NUL in both). */
function strnEq(b: Buffer, at: number, lit: string, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const c = b[at + i]!;
    const l = i < lit.length ? lit.charCodeAt(i) : 0;
    if (c !== l) return false;
    if (c === 0) return true;
  }
  return true;
}

function typeName(t: number): string | number {
  return t === VHD_FIXED ? 'fixed' : t === VHD_DYNAMIC ? 'dynamic' : t === VHD_DIFFERENCING ? 'differencing' : t;
}

export const vpc: FormatModule = {
  name: 'vpc',

  probe(src: ImageSource): number {
    // vpc_probe() looks at offset 0 only.
    return src.size > 0 && strnEq(src.head, 0, 'conectix', 8) && src.head.length >= 8 ? 100 : 0;
  },

  parse(src: ImageSource): ParsedImage {
    let footer = preadZ(src, 0n, HEADER_SIZE, 'Unable to read VHD header');
    let diskType = VHD_DYNAMIC;
    let footerAt = 0;
    if (!strnEq(footer, 0, 'conectix', 8)) {
      // A fixed disk has its footer only at the end of the file; qemu takes the file length
      // rounded up to whole sectors (so a short file's "footer" is its first sector, zero-padded).
      const length = bdrvLength(src.size);
      if (length < HEADER_SIZE) throw new HeaderError('File too small for a VHD header');
      footerAt = length - HEADER_SIZE;
      footer = preadZ(src, BigInt(footerAt), HEADER_SIZE, 'Unable to read VHD footer');
      // Since qemu 6.2 a footer found only at the end must also say "fixed": a dynamic disk
      // whose copy at offset 0 is gone has lost its header and is refused.
      if (!strnEq(footer, 0, 'conectix', 8) || footer.readUInt32BE(60) !== VHD_FIXED) throw new HeaderError('invalid VPC image');
      diskType = VHD_FIXED;
    }

    const stored = footer.readUInt32BE(64);
    const zeroed = Buffer.from(footer);
    zeroed.writeUInt32BE(0, 64);
    if (checksum(zeroed) !== stored) throw new HeaderError('Incorrect header checksum');

    const dataOffset = footer.readBigUInt64BE(16);
    const origSize = footer.readBigUInt64BE(40);
    const currentSize = footer.readBigUInt64BE(48);
    const cyls = footer.readUInt16BE(56);
    const heads = footer[58]!;
    const secs = footer[59]!;
    const type = footer.readUInt32BE(60);
    const app = footer.subarray(28, 32);

    const chsSectors = BigInt(cyls) * BigInt(heads) * BigInt(secs);
    let totalSectors = chsSectors;
    // Virtual PC sizes disks by geometry, Hyper-V and others by current_size (qemu 7.2's table).
    const useChs =
      !strnEq(app, 0, 'win ', 4) &&
      !strnEq(app, 0, 'qem2', 4) &&
      !strnEq(app, 0, 'd2v ', 4) &&
      !strnEq(app, 0, 'CTXS', 4) &&
      !app.equals(Buffer.from('tap\0', 'latin1'));
    const fromCurrentSize = !useChs || chsSectors === VHD_MAX_GEOMETRY;
    if (fromCurrentSize) totalSectors = currentSize / 512n;
    // "Allow a maximum disk size of 2040 GiB": -EFBIG without a message of its own.
    if (totalSectors > VHD_MAX_SECTORS) throw new HeaderError('File too large');

    const fields: Record<string, string | number | boolean | null> = {
      footer_offset: footerAt,
      features: footer.readUInt32BE(8),
      version: `${footer.readUInt16BE(12)}.${footer.readUInt16BE(14)}`,
      data_offset: dataOffset === U64 ? -1 : exact(dataOffset),
      timestamp: footer.readUInt32BE(24),
      creator_app: ascii(footer, 28, 4),
      creator_version: `${footer.readUInt16BE(32)}.${footer.readUInt16BE(34)}`,
      creator_os: ascii(footer, 36, 4),
      original_size: exact(origSize),
      current_size: exact(currentSize),
      cylinders: cyls,
      heads,
      sectors_per_track: secs,
      disk_type: typeName(type),
      checksum: stored,
      uuid: footer.subarray(68, 84).toString('hex'),
      saved_state: footer[84]!,
      size_from: fromCurrentSize ? 'current_size' : 'chs',
    };

    let clusterSize: number | null = null;
    if (diskType === VHD_DYNAMIC) {
      const dyn = preadZ(src, dataOffset, HEADER_SIZE, 'Error reading dynamic VHD header');
      if (!strnEq(dyn, 0, 'cxsparse', 8)) throw new HeaderError('Invalid header magic');
      const blockSize = dyn.readUInt32BE(32);
      if (!isPow2(blockSize) || blockSize < 512) throw new HeaderError(`Invalid block size ${blockSize}`);
      const bitmapSize = (Math.floor(blockSize / (8 * 512)) + 511) & ~511;
      // max_table_entries is an int in qemu.
      const mteRaw = dyn.readUInt32BE(28);
      const maxTableEntries = mteRaw | 0;
      if ((totalSectors * 512n) / BigInt(blockSize) > 0xffffffffn) throw new HeaderError('Too many blocks');
      // (uint64_t) max_table_entries: a negative int sign-extends.
      const mte64 = BigInt.asUintN(64, BigInt(maxTableEntries));
      const computed = (mte64 * BigInt(blockSize)) & U64;
      if (computed < totalSectors * 512n) throw new HeaderError('Page table too small');
      if (maxTableEntries > INT_MAX / 4 || mte64 > U64 / 4n) {
        throw new HeaderError(`Max Table Entries too large (${maxTableEntries})`);
      }
      const pagetableSize = maxTableEntries * 4;
      const batOffset = dyn.readBigUInt64BE(16);
      if (bdrvRefuses(batOffset, pagetableSize)) {
        throw new HeaderError('Error reading pagetable');
      }
      // free_data_block_offset: the end of the BAT, or of the last allocated block, whichever is
      // further; it must not be past the end of the file. The BAT is read (entries past the end
      // of the file are zero there too).
      let free = (batOffset + BigInt(pagetableSize) + 511n) & ~511n;
      if (free > BigInt(bdrvLength(src.size))) {
        throw new HeaderError('block-vpc: free_data_block_offset points after the end of file. The image has been truncated.');
      }
      const inFile = pagetableSize; // inside the file: checked just above
      const budget = READ_BUDGET - src.bytesRead - 64 * 1024;
      if (inFile > budget) {
        throw new HeaderError(`the block allocation table (${pagetableSize} bytes) is too large to check`, 'unsupported-feature');
      }
      let allocated = 0;
      for (let done = 0; done < inFile; done += MAX_READ) {
        const n = Math.min(MAX_READ, inFile - done);
        const chunk = src.read(Number(batOffset) + done, n, 'VHD block allocation table');
        for (let i = 0; i + 4 <= chunk.length; i += 4) {
          const e = chunk.readUInt32BE(i);
          if (e === 0xffffffff) continue;
          allocated++;
          const next = 512n * BigInt(e) + BigInt(bitmapSize) + BigInt(blockSize);
          if (next > free) free = next;
        }
      }
      if (free > BigInt(bdrvLength(src.size))) {
        throw new HeaderError('block-vpc: free_data_block_offset points after the end of file. The image has been truncated.');
      }
      Object.assign(fields, {
        bat_offset: Number(batOffset),
        dyn_version: `${dyn.readUInt16BE(24)}.${dyn.readUInt16BE(26)}`,
        max_table_entries: mteRaw,
        block_size: blockSize,
        allocated_blocks: allocated,
        parent_uuid: dyn.subarray(40, 56).toString('hex'),
        parent_name: dyn
          .subarray(64, 576)
          .toString('utf16le')
          .replace(/\0[\s\S]*$/, ''),
      });
      // vpc_get_info(): the block size is the cluster size unless the footer says "fixed"; it is
      // an int there, so qemu-img prints a block size of 2^31 as -2147483648.
      if (type !== VHD_FIXED) clusterSize = blockSize | 0;
    }

    return standalone({
      format: 'vpc',
      virtualSize: Number(totalSectors * 512n),
      clusterSize,
      fields,
    });
  },
};
