// A scanned file's record for the forest's tests: an image unless its name ends in .raw.
import type { ScannedFile } from '../../shared/scan.js';

export function record(path: string, backing: string | null = null, dataFile: string | null = null): ScannedFile {
  return {
    path,
    external: false,
    isImage: !path.endsWith('.raw'),
    format: path.endsWith('.raw') ? 'raw' : 'qcow2',
    virtualSize: 1 << 20,
    size: 1 << 16,
    allocated: 1 << 16,
    owner: null,
    selinux: null,
    remembered: {},
    backing,
    dataFile,
    usedBy: [],
    problems: [],
  } as unknown as ScannedFile;
}
