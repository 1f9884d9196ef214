// `diskchain why IMAGE`: each kind of blocker made for real, for the test uid 107.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kinds, sh, verdictOf, why, whyChain, WHO, type WhyChain } from './helpers.js';

const root = process.getuid?.() === 0;

function hasQemuAccount(): boolean {
  const passwd = fs.readFileSync('/etc/passwd', 'utf8');
  return /^(libvirt-qemu|qemu):/m.test(passwd);
}
let c: WhyChain;

beforeEach(() => {
  c = whyChain();
});
afterEach(() => c.cleanup());

describe.skipIf(!root)('diskchain why IMAGE', () => {
  it('exits 0 and says so when the VM user opens every file', () => {
    const r = why([c.top, ...WHO, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const v = verdictOf(r);
    expect(v).toMatchObject({ state: 'ok', files: 2, blockedFiles: 0, blockers: [], subject: { uid: 107, gid: 107, source: 'given' } });
    const text = why([c.top, ...WHO]);
    expect(text.stdout.split('\n')[0]).toBe('107 (107:107) can open every file');
  });

  it('a folder without search permission', () => {
    fs.chmodSync(c.dir, 0o700);
    const r = why([c.top, ...WHO, '--json']);
    expect(r.status).toBe(1);
    expect(kinds(verdictOf(r))).toEqual([['search', c.dir]]);
    expect(verdictOf(r).blockers[0]!.reason).toContain(`${c.dir}: no search permission`);
  });

  it('the mode: the VM user owns the top but may not write it', () => {
    fs.chmodSync(c.top, 0o400);
    const r = why([c.top, ...WHO, '--json']);
    expect(r.status).toBe(1);
    expect(kinds(verdictOf(r))).toEqual([['mode', c.top]]);
  });

  it('the owner: root owns the base with mode 0600', () => {
    fs.chownSync(c.base, 0, 0);
    fs.chmodSync(c.base, 0o600);
    const r = why([c.top, ...WHO]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('107 (107:107) cannot open 1 of 2 files');
    expect(r.stdout).toContain('base.qcow2: mode 0600 root:root');
    expect(kinds(verdictOf(why([c.top, ...WHO, '--json'])))).toEqual([['owner', c.base]]);
  });

  it('an ACL entry denying the VM user', () => {
    fs.chownSync(c.base, 0, 0);
    sh('setfacl', '-m', 'u:107:---', c.base);
    const v = verdictOf(why([c.top, ...WHO, '--json']));
    expect(kinds(v)).toEqual([['acl', c.base]]);
    expect(v.blockers[0]!.reason).toBe('base.qcow2: ACL entry user:107:---');
  });

  it('a read-only mount under the writable top', () => {
    const ro = path.join(c.root, 'ro');
    fs.mkdirSync(ro);
    sh('mount', '--bind', c.dir, ro);
    try {
      sh('mount', '-o', 'remount,bind,ro', ro);
      const r = why([path.join(ro, 'top.qcow2'), ...WHO, '--json']);
      expect(r.status).toBe(1);
      expect(kinds(verdictOf(r))).toEqual([['read-only-fs', path.join(ro, 'top.qcow2')]]);
      // The same files through the writable mount open.
      expect(why([c.top, ...WHO]).status).toBe(0);
    } finally {
      sh('umount', ro);
    }
  });

  it('immutable and append-only attributes on the writable top', () => {
    for (const [flag, kind] of [
      ['i', 'immutable'],
      ['a', 'append-only'],
    ] as const) {
      sh('chattr', `+${flag}`, c.top);
      try {
        const r = why([c.top, ...WHO, '--json']);
        expect(r.status).toBe(1);
        expect(kinds(verdictOf(r))).toEqual([[kind, c.top]]);
      } finally {
        sh('chattr', `-${flag}`, c.top);
      }
    }
  });

  it('exits 2 naming the file when the image does not exist, or no VM user is known', () => {
    const r = why([path.join(c.dir, 'nope.qcow2'), ...WHO]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('nope.qcow2: no such file');
    const conf = path.join(c.root, 'qemu.conf');
    fs.writeFileSync(conf, 'user = "+107"\ngroup = "+108"\n');
    const d = why([c.top, '--json'], { env: { DISKCHAIN_QEMU_CONF: conf } });
    expect(d.status, d.stderr).toBe(0);
    expect(verdictOf(d).subject).toMatchObject({ uid: 107, gid: 108, source: 'libvirt-default' });
    if (!hasQemuAccount()) {
      const none = why([c.top], { env: { DISKCHAIN_QEMU_CONF: path.join(c.root, 'absent.conf') } });
      expect(none.status).toBe(2);
      expect(none.stderr).toContain("libvirt's default owner does not exist on this host");
    }
  });
});
