// Test helpers: real images come from qemu-img, made at test time in a fresh temp folder.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'diskchain-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Run qemu-img with `args` in `cwd`; throws with qemu-img's stderr on failure. */
export function qemuImg(cwd: string, ...args: string[]): string {
  return execFileSync('qemu-img', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * qemu-img for LUKS images: its PBKDF benchmark sometimes fails on a busy machine ("Unable to get
 * accurate CPU usage"), so try up to 20 times.
 */
export function qemuImgLuks(cwd: string, ...args: string[]): string {
  for (let i = 0; ; i++) {
    try {
      return qemuImg(cwd, ...args);
    } catch (e) {
      if (i >= 19 || !String((e as Error).message).includes('accurate CPU usage')) throw e;
    }
  }
}

/** `qemu-img info --output=json [--backing-chain] file` parsed. */
export function qemuInfo(cwd: string, file: string, chain = false): any {
  const args = ['info', '--output=json', ...(chain ? ['--backing-chain'] : []), file];
  return JSON.parse(qemuImg(cwd, ...args));
}

/** Overwrite bytes of a file in place (for malformed variants of a qemu-img image). */
export function patchFile(file: string, offset: number, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function be64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
