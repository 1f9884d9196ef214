// Which libvirt diskchain reproduces, and the version-dependent parts of its behaviour: the
// installed libvirtd's version, else `--libvirt-version X.Y`, else the newest one measured.
//
// Facts (libvirt's storage_file_probe.c and the measurements in issue 12):
// - libvirt before 10.10 knows no qcow2 data files: it neither labels one nor hands it to qemu
//   unless the domain XML names it.
// - 10.10 through 11.3 read the data-file extension, but their walk over the header extensions
//   steps by each extension's length without qemu's padding to 8 bytes; after an extension whose
//   length is not a multiple of 8 (a backing format of "qcow2" is 5) every later one is read at
//   the wrong offset, so a data-file extension after it is never found. Fixed after 11.3
//   (RHEL-93773).
import { execFileSync } from 'node:child_process';
import type { Qcow2Extension } from '../../../shared/model.js';

export interface LibvirtVersion {
  major: number;
  minor: number;
  /** "11.3" */
  text: string;
  /** Where it came from, for display. */
  source: string;
}

/** The newest libvirt whose behaviour was measured. */
export const NEWEST_KNOWN_LIBVIRT = '11.3';
const FIRST_WITH_DATA_FILES = [10, 10] as const;
const LAST_WITH_PADDING_BUG = [11, 3] as const;
const VERSION_TIMEOUT_MS = 3000;

/** "X.Y" or "X.Y.Z" (the micro part is ignored); null when it is not a version. */
export function parseLibvirtVersion(text: string): { major: number; minor: number } | null {
  const m = /^(\d{1,4})\.(\d{1,4})(?:\.\d{1,4})?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/** `libvirtd --version` ("libvirtd (libvirt) 11.3.0"), run once; null when it is absent or says nothing usable. */
export function installedLibvirtVersion(): string | null {
  let out: string;
  try {
    out = execFileSync('libvirtd', ['--version'], {
      encoding: 'utf8',
      timeout: VERSION_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024,
    });
  } catch {
    return null;
  }
  const m = /(\d{1,4}\.\d{1,4}(?:\.\d{1,4})?)\s*$/.exec(out.trim());
  return m && parseLibvirtVersion(m[1]!) ? m[1]! : null;
}

let installed: string | null | undefined;

/** The version to reproduce: `explicit` (checked), else the installed one, else the newest known. */
export function libvirtVersion(explicit?: string): LibvirtVersion {
  if (explicit !== undefined) {
    const v = parseLibvirtVersion(explicit);
    if (!v) throw new Error(`--libvirt-version '${explicit}' is not a version like ${NEWEST_KNOWN_LIBVIRT}`);
    return { ...v, text: `${v.major}.${v.minor}`, source: 'command line --libvirt-version' };
  }
  if (installed === undefined) installed = installedLibvirtVersion();
  const v = installed ? parseLibvirtVersion(installed) : null;
  if (v) return { ...v, text: `${v.major}.${v.minor}`, source: `libvirtd --version (${installed})` };
  const n = parseLibvirtVersion(NEWEST_KNOWN_LIBVIRT)!;
  return { ...n, text: NEWEST_KNOWN_LIBVIRT, source: 'no libvirtd here: the newest libvirt diskchain knows' };
}

function atLeast(v: LibvirtVersion, [major, minor]: readonly [number, number]): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/**
 * Why libvirt `v` does not find this qcow2 header's data file, or null when it does. `extensions`
 * are the header's extensions in file order (the data-file one among them).
 */
export function dataFileMissedBy(v: LibvirtVersion, extensions: readonly Qcow2Extension[]): string | null {
  if (!atLeast(v, FIRST_WITH_DATA_FILES)) return `libvirt ${v.text} knows no qcow2 data files (they came in 10.10)`;
  if (atLeast(v, [LAST_WITH_PADDING_BUG[0], LAST_WITH_PADDING_BUG[1] + 1])) return null;
  const at = extensions.findIndex((e) => e.name === 'data-file');
  const unpadded = extensions.slice(0, Math.max(at, 0)).find((e) => e.length % 8 !== 0);
  if (!unpadded) return null;
  return (
    `libvirt ${v.text} does not find it in the header: the ${unpadded.name} extension (${unpadded.length} bytes) comes before ` +
    'the data-file extension, and libvirt 10.10 to 11.3 step over extensions without their padding'
  );
}
