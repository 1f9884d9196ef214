// The chain as libvirt resolves it, on real files: roles, real paths, owners, labels, and every
// trap in the file system (loops, FIFOs, devices, folders, protocols, missing files, depth).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainNodes, type ChainNode } from '../../shared/model.js';
import { inspect } from '../../electron/node/core/chain.js';
import { hostBootTime } from '../../electron/node/core/boottime.js';
import { runCli } from '../support/cli.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';

let root: string;
let cleanup: () => void;
let n = 0;
beforeAll(() => ({ dir: root, cleanup } = tempDir('chain-')));
afterAll(() => cleanup());
const fresh = () => {
  const d = path.join(root, `c${n++}`);
  fs.mkdirSync(d);
  return d;
};

/** An overlay naming `backing` without opening it (qemu-img -u). */
function overlay(d: string, file: string, backing: string, fmt = 'qcow2'): void {
  q(d, 'create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', fmt, file, '64M');
}
const codes = (node: ChainNode) => node.problems.map((p) => p.code);
const layers = (top: ChainNode) => {
  const out: ChainNode[] = [];
  for (let x: ChainNode | null = top; x; x = x.backing) out.push(x);
  return out;
};

describe('chain resolution', () => {
  it('3-deep chain with data files on the top and in the middle', () => {
    const d = fresh();
    q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
    q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=mid.raw', '-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2');
    q(d, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${d}/top.raw`, '-b', 'mid.qcow2', '-F', 'qcow2', 'top.qcow2');
    const top = inspect(path.join(d, 'top.qcow2'));
    const [t, m, b] = layers(top);
    expect(layers(top)).toHaveLength(3);
    expect([t!.role, m!.role, b!.role]).toEqual(['image', 'backing', 'backing']);
    expect([t!.path, m!.path, b!.path]).toEqual(['top.qcow2', 'mid.qcow2', 'base.qcow2'].map((f) => path.join(d, f)));
    expect(t!.dataFile).toMatchObject({ role: 'data-file', path: path.join(d, 'top.raw'), name: `${d}/top.raw`, format: 'raw' });
    expect(m!.dataFile).toMatchObject({ role: 'data-file', path: path.join(d, 'mid.raw'), name: 'mid.raw' });
    expect(codes(m!.dataFile!)).toEqual(['data-file-relative']);
    expect(codes(t!.dataFile!)).toEqual([]);
    expect(b!.dataFile).toBeNull();
    expect(t!.format).toBe('qcow2');
    expect(m!.formatSource).toBe('header');
    expect(chainNodes(top)).toHaveLength(5);
    for (const node of chainNodes(top)) expect(codes(node).filter((c) => c !== 'data-file-relative')).toEqual([]);
  });

  it('resolves names against the naming image as opened (a symlinked top), then realpath', () => {
    const d = fresh();
    fs.mkdirSync(path.join(d, 'pool'));
    fs.mkdirSync(path.join(d, 'vm'));
    q(d, 'create', '-q', '-f', 'qcow2', 'vm/base.qcow2', '64M');
    overlay(path.join(d, 'pool'), 'real.qcow2', 'base.qcow2');
    fs.symlinkSync('../pool/real.qcow2', path.join(d, 'vm/link.qcow2'));
    const top = inspect(path.join(d, 'vm/link.qcow2'));
    expect(top.path).toBe(path.join(d, 'pool/real.qcow2'));
    // qemu and libvirt join with the folder of the name they opened: vm/, not pool/.
    expect(top.backing?.path).toBe(path.join(d, 'vm/base.qcow2'));
    expect(top.backing?.nameInfo?.joined).toBe(`${d}/vm/base.qcow2`);
  });

  it('reports owner, names, mode, SELinux context and libvirt records from the file', () => {
    const d = fresh();
    q(d, 'create', '-q', '-f', 'qcow2', 'a.qcow2', '64M');
    const f = path.join(d, 'a.qcow2');
    fs.chownSync(f, 65534, 65534);
    fs.chmodSync(f, 0o640);
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:svirt_image_t:s0:c1,c2', f]);
    execFileSync('setfattr', ['-n', 'trusted.libvirt.security.dac', '-v', '+0:+0', f]);
    execFileSync('setfattr', ['-n', 'trusted.libvirt.security.ref_dac', '-v', '2', f]);
    execFileSync('setfattr', ['-n', 'trusted.libvirt.security.timestamp_dac', '-v', hostBootTime(), f]);
    execFileSync('setfattr', ['-n', 'trusted.libvirt.security.selinux', '-v', 'system_u:object_r:virt_image_t:s0', f]);
    execFileSync('setfattr', ['-n', 'trusted.libvirt.security.ref_selinux', '-v', '1', f]);
    execFileSync('setfattr', ['-n', 'trusted.libvirt.security.timestamp_selinux', '-v', '12345', f]);
    const top = inspect(f);
    expect(top.owner).toMatchObject({ uid: 65534, gid: 65534, user: 'nobody', group: 'nogroup' });
    expect(top.owner!.mode & 0o7777).toBe(0o640);
    expect(top.selinux).toBe('system_u:object_r:svirt_image_t:s0:c1,c2');
    expect(top.remembered.dac).toEqual({ label: '+0:+0', refcount: 2, timestamp: hostBootTime(), current: true });
    expect(top.remembered.selinux).toEqual({ label: 'system_u:object_r:virt_image_t:s0', refcount: 1, timestamp: '12345', current: false });
    expect(top.stat).toMatchObject({ type: 'file', nlink: 1 });
    expect(top.stat!.allocated).toBe(fs.statSync(f).blocks * 512);
  });

  it('a backing file that does not exist is a node with `missing`; the top still reads', () => {
    const d = fresh();
    overlay(d, 'top.qcow2', 'gone.qcow2');
    const top = inspect(path.join(d, 'top.qcow2'));
    expect(codes(top)).toEqual([]);
    expect(codes(top.backing!)).toEqual(['missing']);
    expect(top.backing!.problems[0]!.message).toContain(`${d}/gone.qcow2`);
    const r = runCli(['inspect', '--json', path.join(d, 'top.qcow2')]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).root.backing.problems[0].code).toBe('missing');
  });

  it('a backing image with no recorded format is probed, and the probe is reported', () => {
    const d = fresh();
    q(d, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '64M');
    q(d, 'create', '-q', '-f', 'qcow', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow'); // qcow v1 cannot record it
    const top = inspect(path.join(d, 'top.qcow'));
    expect(top.backing).toMatchObject({ format: 'qcow2', formatSource: 'probed' });
    expect(codes(top.backing!)).toEqual(['format-probed']);
  });

  it('a raw disk whose guest wrote a qcow2 header naming /etc/shadow: not probed past, not followed', () => {
    const d = fresh();
    // The "guest data": a qcow2 header with a backing file, sitting where a raw image is expected.
    q(d, 'create', '-q', '-f', 'qcow2', '-u', '-b', '/etc/shadow', '-F', 'raw', 'guest.img', '64M');
    q(d, 'create', '-q', '-f', 'qcow', '-u', '-b', 'guest.img', '-F', 'raw', 'top.qcow', '64M'); // qcow v1 cannot record it
    const top = inspect(path.join(d, 'top.qcow'));
    expect(top.backing).toMatchObject({ format: 'raw', formatSource: 'assumed-raw', backing: null, dataFile: null });
    expect(codes(top.backing!)).toEqual(['no-backing-format']);
    // With the format recorded as raw, the header is not even looked at.
    overlay(d, 'top2.qcow2', 'guest.img', 'raw');
    const top2 = inspect(path.join(d, 'top2.qcow2'));
    expect(top2.backing).toMatchObject({ format: 'raw', formatSource: 'header', backing: null });
  });

  it('a json: name naming a local file is followed as libvirt does; network names are nodes never opened', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', 'json:{"driver":"file","filename":"/etc/passwd"}', 'raw');
    overlay(d, 'b.qcow2', 'nbd://127.0.0.1:10809/export', 'raw');
    const a = inspect(path.join(d, 'a.qcow2')).backing!;
    const b = inspect(path.join(d, 'b.qcow2')).backing!;
    expect([codes(a), a.path, a.nameInfo?.kind]).toEqual([[], '/etc/passwd', 'file']);
    expect(a.stat).not.toBeNull();
    expect([codes(b), b.stat]).toEqual([['network'], null]);
  });

  it('a 1,000-deep chain is walked iteratively and flagged past 200 layers', () => {
    const d = fresh();
    q(d, 'create', '-q', '-f', 'qcow2', 'c0.qcow2', '1M');
    const tmpl = path.join(d, 'tmpl.qcow2');
    overlay(d, 'tmpl.qcow2', 'c0.qcow2'); // 9-byte name, patched per layer below
    const bytes = fs.readFileSync(tmpl);
    const off = Number(bytes.readBigUInt64BE(8));
    for (let i = 1; i < 1000; i++) {
      const b = Buffer.from(bytes);
      const name = Buffer.from(`c${i - 1}.qcow2`);
      b.fill(0, off, off + 16);
      name.copy(b, off);
      b.writeUInt32BE(name.length, 16);
      fs.writeFileSync(path.join(d, `c${i}.qcow2`), b);
    }
    const top = inspect(path.join(d, 'c999.qcow2'));
    const all = layers(top);
    expect(all).toHaveLength(1000);
    expect(all[999]!.path).toBe(path.join(d, 'c0.qcow2'));
    expect(all.filter((x) => codes(x).includes('too-deep')).map((x) => x.depth)).toEqual([200]);
    const limited = inspect(path.join(d, 'c999.qcow2'), { maxDepth: 10 });
    expect(layers(limited)).toHaveLength(10);
    expect(codes(layers(limited)[9]!)).toContain('too-deep');
  });
});

describe('the CLI', () => {
  it('prints a readable tree', () => {
    const d = fresh();
    q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=base.raw', 'base.qcow2', '64M');
    overlay(d, 'top.qcow2', 'base.qcow2');
    const r = runCli(['inspect', path.join(d, 'top.qcow2')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^image +${d}/top.qcow2`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^backing +${d}/base.qcow2 +named 'base.qcow2'`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ +data-file +${d}/base.raw`, 'm'));
    expect(r.stdout).toContain('owner root:root (0:0) -rw-r--r--');
  });

  it('fails with one line naming the file when the top is missing or invalid', () => {
    const d = fresh();
    const missing = runCli(['inspect', path.join(d, 'nope.qcow2')]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(`diskchain: image ${d}/nope.qcow2 does not exist\n`);
    const bad = path.join(d, 'bad.qcow2');
    q(d, 'create', '-q', '-f', 'qcow2', 'bad.qcow2', '1M');
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.from([0, 0, 0, 9]), 0, 4, 4); // version 9
    fs.closeSync(fd);
    for (const args of [
      ['inspect', bad],
      ['inspect', '--json', bad],
      ['inspect', '--qemu-json', bad],
    ]) {
      const r = runCli(args);
      expect(r.status).toBe(1);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toContain(bad);
      expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
    }
  });

  it('--json carries the documented keys on every node', () => {
    const d = fresh();
    q(d, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=a.raw', 'a.qcow2', '64M');
    const r = runCli(['inspect', '--json', path.join(d, 'a.qcow2')]);
    const rootNode = JSON.parse(r.stdout).root;
    for (const node of [rootNode, rootNode.dataFile]) {
      for (const key of ['path', 'name', 'role', 'format', 'backing', 'dataFile', 'owner', 'selinux', 'remembered', 'problems']) {
        expect(node).toHaveProperty(key);
      }
      expect(Object.keys(node.owner).sort()).toEqual(['gid', 'group', 'mode', 'uid', 'user']);
    }
  });
});
