// Which qemu-img `inspect --qemu-json` imitates: its output gained keys between 7.2 and 10.x.
// Chosen as: --qemu-version X.Y, else the binary $DISKCHAIN_QEMU_IMG, else `qemu-img` on PATH,
// else the newest version known here.
import { execFileSync } from 'node:child_process';

export interface QemuVersion {
  major: number;
  minor: number;
}

export const OLDEST_KNOWN: QemuVersion = { major: 7, minor: 2 };
export const NEWEST_KNOWN: QemuVersion = { major: 10, minor: 0 };

/** `X.Y` (or `X.Y.Z`, or the first line of `qemu-img --version`) as a version; null if none. */
export function parseQemuVersion(text: string): QemuVersion | null {
  const m = /(?:^|version\s+)(\d{1,3})\.(\d{1,3})(?:\.\d+)?/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function atLeast(v: QemuVersion, major: number, minor = 0): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/** `--version` of a qemu-img binary; null when it cannot be run or says no version. */
function versionOf(binary: string): QemuVersion | null {
  try {
    // A hung or huge binary must not hang inspect: bounded in time and output.
    const out = execFileSync(binary, ['--version'], {
      encoding: 'utf8',
      timeout: 5_000,
      maxBuffer: 64 << 10,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return parseQemuVersion(out);
  } catch {
    return null;
  }
}

/** Asked once per binary per process: a scan runs qemuInfoChain thousands of times. */
const asked = new Map<string, QemuVersion>();

/** The version to imitate; throws on an --qemu-version that is not X.Y. */
export function selectQemuVersion(option: string | undefined, env: NodeJS.ProcessEnv = process.env): QemuVersion {
  if (option !== undefined) {
    const v = /^\d{1,3}\.\d{1,3}$/.test(option) ? parseQemuVersion(option) : null;
    if (!v) throw new Error(`--qemu-version must be X.Y (like 10.0), not '${option}'`);
    return v;
  }
  const binary = env.DISKCHAIN_QEMU_IMG || 'qemu-img';
  let v = asked.get(binary);
  if (!v) asked.set(binary, (v = versionOf(binary) ?? NEWEST_KNOWN));
  return v;
}
