// The files a qcow2 names: its backing file (name in the first cluster, format in an extension)
// and its external data file (name in an extension, used only with incompatible bit 2), and
// what is wrong with how they are named.
import type { Problem } from '../../../../../shared/model.js';
import { HeaderError } from '../../source.js';
import { childFromName, namePastEof } from '../common/child-name.js';
import { hasBit } from '../common/numbers.js';
import { qemuText } from '../common/text.js';
import type { ZeroFillReader } from '../common/zero-fill-reader.js';
import type { ChildName } from '../types.js';
import type { ExtState } from './extensions.js';
import { AUTOCLEAR_DATA_FILE_RAW, INCOMPAT_DATA_FILE, type Qcow2Header } from './header.js';

export interface BackingName {
  raw: Buffer;
  pastEof: boolean;
  problems: Problem[];
}

/** The backing file name as qemu reads it at open; null when the header names none. */
export function readBackingName(r: ZeroFillReader, h: Qcow2Header, fileSize: number): BackingName | null {
  if (h.backingFileOffset === 0) return null;
  const bfo = Number(h.backingFileOffset);
  const size = h.backingFileSize;
  if (size > Math.min(1023, h.clusterSize - bfo) || size >= 1024) throw new HeaderError('Backing file name too long');
  const raw = r.read(bfo, size, 'Could not read backing file name');
  const problems: Problem[] = [];
  if (size > 0 && bfo < h.headerLength) {
    problems.push({
      code: 'bad-name',
      message: `The backing file name at offset ${bfo} lies inside the ${h.headerLength}-byte header: qemu reads header fields as the name`,
    });
  }
  return { raw, pastEof: namePastEof(bfo, raw, fileSize), problems };
}

export interface Children {
  backing: ChildName | null;
  dataFile: ChildName | null;
  problems: Problem[];
}

/** What qemu would open besides the image, and the problems with how the header names it. */
export function children(h: Qcow2Header, ext: ExtState, name: BackingName | null): Children {
  const problems: Problem[] = [...(name?.problems ?? [])];
  const backingFormat = ext.backingFormat ? qemuText(ext.backingFormat) : '';
  let backing: ChildName | null = null;
  if (name) {
    const b = childFromName(name.raw, backingFormat === '' ? null : backingFormat, 'backing file', { pastEof: name.pastEof });
    backing = b.child;
    problems.push(...b.problems);
  }

  const hasDataFileBit = hasBit(h.incompat, INCOMPAT_DATA_FILE);
  let dataFile: ChildName | null = null;
  if (hasDataFileBit && ext.dataFileName) {
    const d = childFromName(ext.dataFileName, null, 'data file', { emptyIsProblem: true });
    dataFile = d.child;
    problems.push(...d.problems);
  } else if (hasDataFileBit) {
    problems.push({
      code: 'data-file-bit-without-name',
      message:
        'Incompatible feature bit 2 (external data file) is set but no data-file name extension is present: qemu opens the image only when told the data file at run time',
    });
  } else if (ext.dataFileName) {
    problems.push({
      code: 'data-file-name-without-bit',
      message: `A data-file name extension ("${qemuText(ext.dataFileName)}") is present but incompatible feature bit 2 is clear: qemu ignores the name and reads guest data from this file`,
    });
  }
  if (hasBit(h.autoclear, AUTOCLEAR_DATA_FILE_RAW) && backing) {
    problems.push({
      code: 'raw-data-file-with-backing',
      message:
        'The data_file_raw bit is set together with a backing file: qemu refuses to create such an image, and writes through the raw data file bypass the backing chain',
    });
  }
  return { backing, dataFile, problems };
}
