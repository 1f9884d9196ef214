// The one place an image file is opened: only after lstat said it is a regular file, without
// following links and without blocking, then checked to be the very file that was lstat'ed.
import * as fs from 'node:fs';
import type { FileStat } from '../../shared/model.js';
import { fdSource, type ImageSource } from './source.js';

// Node adds O_CLOEXEC itself.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** Why a file of this type is never read, or null for a regular file. */
export function refuseType(type: FileStat['type']): { code: 'device' | 'not-regular'; what: string } | null {
  switch (type) {
    case 'file': return null;
    case 'block':
    case 'char': return { code: 'device', what: `a ${type} device` };
    case 'dir': return { code: 'not-regular', what: 'a folder' };
    case 'fifo': return { code: 'not-regular', what: 'a FIFO' };
    default: return { code: 'not-regular', what: `a ${type}` };
  }
}

export class FileChangedError extends Error {}

/** Open `real` (lstat'ed as `st`) and hand its bounded source to `fn`; the descriptor is always closed. */
export function withImage<T>(real: string, st: fs.Stats, fn: (src: ImageSource) => T): T {
  const fd = fs.openSync(real, OPEN_FLAGS);
  try {
    const fst = fs.fstatSync(fd);
    if (fst.dev !== st.dev || fst.ino !== st.ino || !fst.isFile()) {
      throw new FileChangedError(`${real} changed while it was being read`);
    }
    return fn(fdSource(fd, fst.size));
  } finally {
    fs.closeSync(fd);
  }
}
