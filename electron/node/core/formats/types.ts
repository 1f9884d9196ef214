// The contract every format module implements. One module per format, each pure over an
// ImageSource: no file system access, no paths, so they can be fuzzed on bytes in memory.
import type { FormatName, HeaderInfo, Problem } from '../../../../shared/model.js';
import type { ImageSource } from '../source.js';

export interface ChildName {
  /** The name bytes exactly as in the header. */
  raw: Buffer;
  /** Backing format as recorded in the header (qcow2 extension, QED raw flag, ...); null if not. */
  format: string | null;
}

export interface ParsedImage {
  header: HeaderInfo;
  /** Backing file name, when the header names one (empty names are reported as none). */
  backing: ChildName | null;
  /** qcow2 external data file name; only set when qemu would use it (bit 2 and extension). */
  dataFile: ChildName | null;
  /** Things wrong that do not stop qemu from opening the image. */
  problems: Problem[];
  /**
   * Extra keys for qemu-img's JSON that depend on the header alone, beyond what `header`
   * gives (for instance `backing-filename-format`). Merged by qemu-info.
   */
  qemuExtra?: Record<string, unknown>;
}

export interface FormatModule {
  name: FormatName;
  /**
   * qemu's probe score for these bytes (0 = not this format, 100 = certain). The head holds at
   * most HEAD_SIZE bytes; formats found elsewhere (VHD footer, ISO) may read through `src`.
   */
  probe(src: ImageSource): number;
  /** Parse and validate as qemu does; throws HeaderError for what qemu refuses to open. */
  parse(src: ImageSource): ParsedImage;

  // Hooks for what qemu's driver for the format does beyond the header, each optional (like
  // qemu's per-driver callbacks): qemu-info and the chain call them without naming formats.

  /** The driver qemu-img names, when it is not `name` (qemu opens an ISO with its raw driver). */
  qemuDriver?: string;
  /** The files qemu opens with the image (a vmdk's extents), as the header's bytes, each once. */
  extentFiles?(parsed: ParsedImage): Buffer[];
  /**
   * Opens those files as qemu does (`open` returns null for a missing one) and returns the parse
   * refined by what they hold; throws HeaderError where qemu fails to open the image.
   */
  openExtents?(parsed: ParsedImage, open: (name: string, raw: Buffer, index: number) => ImageSource | null): ParsedImage;
  /**
   * bdrv_get_specific_info(): qemu-img's `format-specific` for the image opened under
   * `filename`. Without the hook it is `header.formatSpecific`, which depends on the header alone.
   */
  specificInfo?(parsed: ParsedImage, filename: string): unknown;
}

/** What a header of a format without extensions, dirty bit or children says (the common case). */
export interface StandaloneHeader {
  format: FormatName;
  virtualSize: HeaderInfo['virtualSize'];
  fields: HeaderInfo['fields'];
  clusterSize?: number | null;
  encrypted?: boolean;
  formatSpecific?: HeaderInfo['formatSpecific'];
}

/** An image that names no backing file and no data file. */
export function standalone(h: StandaloneHeader): ParsedImage {
  return {
    header: {
      format: h.format,
      virtualSize: h.virtualSize,
      clusterSize: h.clusterSize ?? null,
      encrypted: h.encrypted ?? false,
      dirty: false,
      fields: h.fields,
      extensions: [],
      formatSpecific: h.formatSpecific ?? null,
    },
    backing: null,
    dataFile: null,
    problems: [],
  };
}
