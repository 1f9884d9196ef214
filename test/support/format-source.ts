// Opening a file as the parsers see it (an ImageSource over a read-only descriptor), for every
// format's tests: one way, so each format's tests read files as the app does.
import * as fs from 'node:fs';
import { HeaderError, fdSource, type ImageSource } from '../../electron/node/core/source.js';
import type { FormatModule, ParsedImage } from '../../electron/node/core/formats/types.js';

/** Run `fn` on a source over `file` (opened read-only, closed afterwards). */
export function withSource<T>(file: string, fn: (src: ImageSource) => T): T {
  const fd = fs.openSync(file, 'r');
  try {
    return fn(fdSource(fd, fs.fstatSync(fd).size));
  } finally {
    fs.closeSync(fd);
  }
}

export interface ParseOutcome {
  parsed: ParsedImage | null;
  error: HeaderError | null;
  src: ImageSource;
}

/** Parse a file with a module; a HeaderError is returned, not thrown. */
export function parseFile(mod: FormatModule, file: string): ParseOutcome {
  return withSource(file, (src) => {
    try {
      return { parsed: mod.parse(src), error: null, src };
    } catch (e) {
      if (e instanceof HeaderError) return { parsed: null, error: e, src };
      throw e;
    }
  });
}
