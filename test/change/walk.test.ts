// The walk every privileged open goes through: with openat2 and with the component-by-component
// fallback, a link anywhere on the way, another mount, or a path outside the root stops it, and
// nothing but a regular file or folder is ever opened for reading.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RootSet, allowedRoots, forbiddenWhy } from '../../electron/node/change/consent.js';
import { closeRoot, holdAbsolute, holdInRoot, openHeld, openRoot } from '../../electron/node/native/walk.js';
import { forgoOpenat2 } from '../../electron/node/native/libc.js';
import { tempDir } from '../support/qemu.js';

const isRoot = process.getuid?.() === 0;
let tmp: { dir: string; cleanup: () => void };

beforeAll(() => {
  tmp = tempDir('diskchain-walk-');
  const d = tmp.dir;
  fs.mkdirSync(path.join(d, 'root/sub'), { recursive: true });
  fs.writeFileSync(path.join(d, 'root/sub/disk.img'), 'x');
  fs.mkdirSync(path.join(d, 'elsewhere'));
  fs.writeFileSync(path.join(d, 'elsewhere/secret'), 's');
  fs.symlinkSync(path.join(d, 'elsewhere'), path.join(d, 'root/link-dir'));
  fs.symlinkSync(path.join(d, 'elsewhere/secret'), path.join(d, 'root/link-file'));
  fs.symlinkSync('/dev', path.join(d, 'root/dev'));
  fs.writeFileSync(path.join(d, 'root/tool'), '#!/bin/sh\n', { mode: 0o755 });
  execFileSync('mkfifo', [path.join(d, 'root/fifo')]);
});
afterAll(() => tmp.cleanup());
afterEach(() => forgoOpenat2(false));

for (const mode of ['openat2', 'component walk'] as const) {
  describe(`walk (${mode})`, () => {
    const setup = () => forgoOpenat2(mode === 'component walk');

    it('reaches a regular file beneath its root and opens exactly it', () => {
      setup();
      const root = openRoot(path.join(tmp.dir, 'root'));
      try {
        const held = holdInRoot(root, path.join(tmp.dir, 'root/sub/disk.img'));
        const fd = openHeld(held, 'disk.img');
        expect(fs.readFileSync(fd, 'utf8')).toBe('x');
        fs.closeSync(fd);
      } finally {
        closeRoot(root);
      }
    });

    it('stops at a link anywhere on the way, and at a trailing link', () => {
      setup();
      const root = openRoot(path.join(tmp.dir, 'root'));
      try {
        expect(() => holdInRoot(root, path.join(tmp.dir, 'root/link-dir/secret'))).toThrow(/symbolic link/);
        expect(() => holdInRoot(root, path.join(tmp.dir, 'root/link-file'))).toThrow(/symbolic link/);
        expect(() => holdInRoot(root, path.join(tmp.dir, 'root/dev/zero'))).toThrow(/symbolic link/);
        expect(() => holdInRoot(root, path.join(tmp.dir, 'elsewhere/secret'))).toThrow(/not inside/);
        expect(() => holdAbsolute(path.join(tmp.dir, 'root/link-dir/secret'))).toThrow(/symbolic link/);
      } finally {
        closeRoot(root);
      }
    });

    it('holds a FIFO without opening it, and refuses to open it', () => {
      setup();
      const held = holdAbsolute(path.join(tmp.dir, 'root/fifo'));
      expect(held.st.isFIFO()).toBe(true);
      expect(() => openHeld(held, 'fifo')).toThrow(/not a regular file or folder/);
    });

    it.skipIf(!isRoot)('does not cross into a bind mount inside the root', () => {
      setup();
      const mnt = path.join(tmp.dir, 'root/mnt');
      fs.mkdirSync(mnt);
      execFileSync('mount', ['--bind', path.join(tmp.dir, 'elsewhere'), mnt]);
      try {
        const root = openRoot(path.join(tmp.dir, 'root'));
        try {
          expect(() => holdInRoot(root, path.join(mnt, 'secret'))).toThrow(/another mount/);
        } finally {
          closeRoot(root);
        }
      } finally {
        execFileSync('umount', [mnt]);
        fs.rmdirSync(mnt);
      }
    });

    it('RootSet refuses files with an execute bit, outside the roots, and non-files', () => {
      setup();
      const set = new RootSet([path.join(tmp.dir, 'root')]);
      try {
        expect(() => set.openFile(path.join(tmp.dir, 'root/tool'))).toThrow(/execute, setuid or setgid/);
        expect(() => set.openFile(path.join(tmp.dir, 'elsewhere/secret'))).toThrow(/outside the allowed folders/);
        expect(() => set.openFile(path.join(tmp.dir, 'root/fifo'))).toThrow(/not a regular file/);
        fs.closeSync(set.openFile(path.join(tmp.dir, 'root/sub/disk.img')));
      } finally {
        set.close();
      }
    });
  });
}

describe('allowed roots', () => {
  it('one forbidden list covers whole trees, /lib* and too-wide folders', () => {
    for (const p of [
      '/etc',
      '/etc/ssh/x',
      '/root/.ssh',
      '/usr/local/bin',
      '/lib64/x',
      '/libexec-anything/y',
      '/run/user/1000',
      '/var/spool/cron',
      '/var/lib/dpkg/info',
      '/dev/shm/x',
    ]) {
      expect(forbiddenWhy(p), p).not.toBeNull();
    }
    for (const p of ['/', '/home', '/tmp', '/var/tmp', '/var/lib', '/srv', '/opt']) expect(forbiddenWhy(p), p).toMatch(/too wide/);
    for (const p of ['/var/lib/libvirt/images', '/srv/vms', '/tmp/x', '/home/alice/vms']) expect(forbiddenWhy(p), p).toBeNull();
  });

  it("a top given as a link adds no root, and the plan's note names the link and its target", () => {
    const r = allowedRoots({ tops: [path.join(tmp.dir, 'root/link-file')], libvirt: false });
    expect(r.roots).toEqual([]);
    expect(r.notes.join('\n')).toContain(
      `${path.join(tmp.dir, 'root/link-file')} is reached through a symbolic link and stands for ${path.join(tmp.dir, 'elsewhere/secret')}`,
    );
    // A link on the way (a folder) counts as much as the top's own.
    expect(allowedRoots({ tops: [path.join(tmp.dir, 'root/link-dir/secret')], libvirt: false }).roots).toEqual([]);
    const plain = allowedRoots({ tops: [path.join(tmp.dir, 'root/sub/disk.img')], libvirt: false });
    expect(plain.roots).toEqual([path.join(tmp.dir, 'root/sub')]);
  });

  it.skipIf(!isRoot)("as root, a folder in someone's home counts only when named with --allow-root", () => {
    const home = fs.mkdtempSync('/home/diskchain-walk-');
    try {
      fs.chownSync(home, 4242, 4242);
      fs.mkdirSync(path.join(home, 'vms'));
      const opened = allowedRoots({ opened: [path.join(home, 'vms')], libvirt: false });
      expect(opened.roots).toEqual([]);
      const named = allowedRoots({ named: [path.join(home, 'vms')], libvirt: false });
      expect(named.roots).toEqual([path.join(home, 'vms')]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
