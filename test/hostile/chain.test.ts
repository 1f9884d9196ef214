// Hostile chains: every trap a header can set in the file system. Each gives its problem code,
// returns fast, and never throws past the CLI.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainNode } from '../../shared/model.js';
import { inspect } from '../../electron/node/core/chain.js';
import { runCli } from '../support/cli.js';
import { patchFile, qemuImg as q, tempDir } from '../support/qemu.js';

let root: string;
let cleanup: () => void;
let n = 0;
beforeAll(() => ({ dir: root, cleanup } = tempDir('hostile-chain-')));
afterAll(() => cleanup());
const fresh = () => {
  const d = path.join(root, `h${n++}`);
  fs.mkdirSync(d);
  return d;
};
const overlay = (d: string, file: string, backing: string, fmt = 'qcow2') =>
  q(d, 'create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', fmt, file, '64M');
/** A qcow2 whose data file is `name` (the file qemu-img made for it is removed). */
function withDataFile(d: string, file: string, name: string): void {
  q(d, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${file}.tmp.raw`, file, '64M');
  fs.rmSync(path.join(d, `${file}.tmp.raw`));
  const bytes = fs.readFileSync(path.join(d, file));
  const at = bytes.indexOf(Buffer.from(`${file}.tmp.raw`));
  const ext = at - 8; // type + length precede the name
  const nameBytes = Buffer.from(name);
  const padded = Buffer.alloc(Math.ceil(nameBytes.length / 8) * 8);
  nameBytes.copy(padded);
  const rec = Buffer.concat([Buffer.from([0x44, 0x41, 0x54, 0x41]), Buffer.alloc(4), padded, Buffer.alloc(8)]);
  rec.writeUInt32BE(nameBytes.length, 4);
  patchFile(path.join(d, file), ext, rec);
}
const codes = (x: ChainNode | null | undefined) => (x ? x.problems.map((p) => p.code) : null);
const timed = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const v = fn();
  return [v, performance.now() - t0];
};

describe('loops', () => {
  it('an image naming itself', () => {
    const d = fresh();
    overlay(d, 'x.qcow2', 'a.qcow2'); // qemu-img refuses to make it directly
    fs.renameSync(path.join(d, 'x.qcow2'), path.join(d, 'a.qcow2'));
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['loop']);
    const r = runCli(['inspect', '--qemu-json', 'a.qcow2'], { cwd: d });
    expect([r.status, r.stderr]).toEqual([1, "diskchain: Backing file 'a.qcow2' creates an infinite loop.\n"]);
  });
  it('an image naming itself through ./ (qemu-img recurses until the name is too long)', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', './a.qcow2');
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['loop']);
    const r = runCli(['inspect', '--qemu-json', 'a.qcow2'], { cwd: d });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/loops/);
  });
  it('a two-image loop through a symlink alias', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', 'b.qcow2');
    overlay(d, 'b.qcow2', 'alias.qcow2');
    fs.symlinkSync('a.qcow2', path.join(d, 'alias.qcow2'));
    const top = inspect(path.join(d, 'a.qcow2'));
    expect(codes(top.backing)).toEqual([]);
    expect(codes(top.backing!.backing)).toEqual(['loop']);
  });
  it('a symlink loop (ELOOP)', () => {
    const d = fresh();
    fs.symlinkSync('l2', path.join(d, 'l1'));
    fs.symlinkSync('l1', path.join(d, 'l2'));
    overlay(d, 'a.qcow2', 'l1');
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['loop']);
  });
  it('a data file that is the image itself', () => {
    const d = fresh();
    withDataFile(d, 'a.qcow2', 'a.qcow2');
    expect(codes(inspect(path.join(d, 'a.qcow2')).dataFile)).toContain('loop');
  });
});

describe('files that must never be read', () => {
  it('a FIFO as backing file returns in well under a second', () => {
    const d = fresh();
    mkfifo(path.join(d, 'fifo'));
    overlay(d, 'a.qcow2', 'fifo', 'raw');
    const [top, ms] = timed(() => inspect(path.join(d, 'a.qcow2')));
    expect(codes(top.backing)).toEqual(['not-regular']);
    expect(ms).toBeLessThan(500);
    const r = runCli(['inspect', '--qemu-json', path.join(d, 'a.qcow2')], { timeout: 5000 });
    expect(r.status).toBe(1);
    expect(r.ms).toBeLessThan(2000);
  });
  it('a FIFO as data file', () => {
    const d = fresh();
    withDataFile(d, 'a.qcow2', `${d}/fifo`);
    mkfifo(path.join(d, 'fifo'));
    const [top, ms] = timed(() => inspect(path.join(d, 'a.qcow2')));
    expect(codes(top.dataFile)).toEqual(['not-regular']);
    expect(ms).toBeLessThan(500);
  });
  it('a FIFO as the top image: the CLI fails fast with one line', () => {
    const d = fresh();
    mkfifo(path.join(d, 'fifo'));
    const r = runCli(['inspect', path.join(d, 'fifo')], { timeout: 5000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`diskchain: image ${d}/fifo is a FIFO, not a regular file; it is never read\n`);
  });
  it('a character device as backing file (/dev/zero)', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', '/dev/zero', 'raw');
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['device']);
  });
  it('a character device as data file (/dev/urandom)', () => {
    const d = fresh();
    withDataFile(d, 'a.qcow2', '/dev/urandom');
    expect(codes(inspect(path.join(d, 'a.qcow2')).dataFile)).toEqual(['device']);
  });
  it('a block device node as backing file', () => {
    const d = fresh();
    const dev = fs
      .readdirSync('/dev')
      .map((x) => `/dev/${x}`)
      .find((p) => {
        try {
          return fs.lstatSync(p).isBlockDevice();
        } catch {
          return false;
        }
      });
    if (!dev) return; // no block device node on this machine
    overlay(d, 'a.qcow2', dev, 'raw');
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['device']);
  });
  it('a folder as backing file', () => {
    const d = fresh();
    fs.mkdirSync(path.join(d, 'folder'));
    overlay(d, 'a.qcow2', 'folder', 'raw');
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['not-regular']);
  });
  it('a socket as backing file', async () => {
    const d = fresh();
    const sock = path.join(d, 's.sock');
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      overlay(d, 'a.qcow2', 's.sock', 'raw');
      expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['not-regular']);
    } finally {
      server.close();
    }
  });
  it('a /proc file (reading it could block) as backing file', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', '/proc/self/status', 'raw');
    const [top, ms] = timed(() => inspect(path.join(d, 'a.qcow2')));
    expect(codes(top.backing)).toEqual(['unsafe-path']);
    expect(ms).toBeLessThan(500);
  });
  it('a symlink to a FIFO as backing file', () => {
    const d = fresh();
    mkfifo(path.join(d, 'fifo'));
    fs.symlinkSync('fifo', path.join(d, 'link'));
    overlay(d, 'a.qcow2', 'link', 'raw');
    expect(codes(inspect(path.join(d, 'a.qcow2')).backing)).toEqual(['not-regular']);
  });
});

describe('names', () => {
  it('a json: pseudo-protocol name naming a host file is that file, as a plain name is', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', 'json:{"file":{"driver":"file","filename":"/etc/shadow"}}', 'raw');
    expect(inspect(path.join(d, 'a.qcow2')).backing).toMatchObject({ path: '/etc/shadow', nameInfo: { kind: 'file' } });
  });
  it('network URLs', () => {
    const d = fresh();
    for (const [i, url] of ['http://example.invalid/x.img', 'gluster://h/v/x', 'rbd:pool/image', 'iscsi://h/iqn/0'].entries()) {
      overlay(d, `a${i}.qcow2`, url, 'raw');
      expect(codes(inspect(path.join(d, `a${i}.qcow2`)).backing)).toEqual(['network']);
    }
  });
  it('a data file naming a host file (/etc/shadow) is shown as that file, not read', () => {
    const d = fresh();
    withDataFile(d, 'a.qcow2', '/etc/shadow');
    const top = inspect(path.join(d, 'a.qcow2'));
    expect(top.dataFile).toMatchObject({ path: '/etc/shadow', role: 'data-file', header: null });
  });
  it('a backing name with invalid UTF-8 is not followed', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', 'abcdefgh');
    const bytes = fs.readFileSync(path.join(d, 'a.qcow2'));
    patchFile(
      path.join(d, 'a.qcow2'),
      bytes.indexOf(Buffer.from('abcdefgh')),
      Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x63, 0x64, 0x65, 0x66]),
    );
    const top = inspect(path.join(d, 'a.qcow2'));
    expect(top.backing).toBeNull();
    expect(codes(top)).toContain('bad-name');
  });
  it('a chain deeper than 200 is flagged once (libvirt refuses it) and still walked to its end', () => {
    const d = fresh();
    overlay(d, 'a.qcow2', 'b.qcow2');
    const bytes = fs.readFileSync(path.join(d, 'a.qcow2'));
    const off = Number(bytes.readBigUInt64BE(8));
    for (let i = 0; i < 205; i++) {
      const b = Buffer.from(bytes);
      const name = Buffer.from(`l${i + 1}.qcow2`);
      b.fill(0, off, off + 16);
      name.copy(b, off);
      b.writeUInt32BE(name.length, 16);
      fs.writeFileSync(path.join(d, `l${i}.qcow2`), b);
    }
    const top = inspect(path.join(d, 'l0.qcow2'));
    let last = top;
    let deep = 0;
    while (last.backing) {
      last = last.backing;
      if (codes(last)!.includes('too-deep')) deep++;
    }
    expect(deep).toBe(1);
    expect(codes(last)).toEqual(['missing']);
  });
});

/** Node has no mkfifo(2); coreutils' mkfifo does it. */
function mkfifo(p: string): void {
  execFileSync('mkfifo', [p]);
}
