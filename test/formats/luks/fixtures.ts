// LUKS fixtures: LUKS1 images from qemu-img (quick key derivation), malformed variants patch the
// big-endian header.
import { qemuImg } from '../../support/qemu.js';

export function makeLuks(dir: string, name: string, size: string, opts: string[] = []): string {
  // qemu-img times PBKDF2 on the thread CPU clock and gives up ("Unable to get accurate CPU
  // usage") when a run measures 0 ms, which happens on a busy machine: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      qemuImg(
        dir,
        'create',
        '-q',
        '-f',
        'luks',
        '--object',
        'secret,id=s0,data=pw',
        '-o',
        ['key-secret=s0', 'iter-time=10', ...opts].join(','),
        name,
        size,
      );
      return name;
    } catch (e) {
      if (attempt >= 20 || !String((e as Error).message).includes('Unable to get accurate CPU usage')) throw e;
    }
  }
}

export const LUKS = {
  version: 6,
  cipherName: 8,
  cipherMode: 40,
  hashSpec: 72,
  payloadOffset: 104,
  masterKeyLen: 108,
  masterKeyIterations: 164,
  uuid: 168,
  slot: (i: number) => 208 + i * 48,
  slotActive: 0,
  slotIterations: 4,
  slotKeyOffset: 40,
  slotStripes: 44,
} as const;

export function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function be16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function cstr(s: string, len: number): Buffer {
  const b = Buffer.alloc(len);
  b.write(s, 'latin1');
  return b;
}
