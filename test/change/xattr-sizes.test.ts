// Reading xattrs asks the kernel for a small buffer first (libc.ts): a value longer than that
// first ask must still come back whole, by the path and through a descriptor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fgetxattr, flistxattr, lgetxattr, lsetxattr } from '../../electron/node/native/libc.js';
import { tempDir } from '../support/qemu.js';

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => (tmp = tempDir('diskchain-xattr-')));
afterAll(() => tmp.cleanup());

// user.* xattrs need no privilege; ext4 takes values up to a block (4 KiB here).
it.each([0, 1, 1023, 1024, 1025, 3000])('reads a %i-byte value whole', (size) => {
  const f = path.join(tmp.dir, `v${size}`);
  fs.writeFileSync(f, 'x');
  const value = Buffer.alloc(size, 0x61 + (size % 26));
  lsetxattr(f, 'user.diskchain.test', value);
  expect(lgetxattr(f, 'user.diskchain.test')).toEqual(value);
  const fd = fs.openSync(f, 'r');
  try {
    expect(fgetxattr(fd, 'user.diskchain.test')).toEqual(value);
    expect(flistxattr(fd)).toContain('user.diskchain.test');
  } finally {
    fs.closeSync(fd);
  }
});

it('lists more names than the first ask holds', () => {
  const f = path.join(tmp.dir, 'many');
  fs.writeFileSync(f, 'x');
  const names = Array.from({ length: 60 }, (_, i) => `user.diskchain.a-rather-long-attribute-name-${i}`);
  for (const n of names) lsetxattr(f, n, 'v');
  const fd = fs.openSync(f, 'r');
  try {
    expect(
      flistxattr(fd)
        .filter((n) => n.startsWith('user.diskchain.'))
        .sort(),
    ).toEqual([...names].sort());
  } finally {
    fs.closeSync(fd);
  }
});
