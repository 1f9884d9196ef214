// How `inspect --qemu-json` picks the qemu-img version it imitates, and what each version adds.
// The comparison with real qemu-img on every kind of image is qemu-parity.test.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { qemuImg, qemuImgLuks, tempDir } from '../support/qemu.js';
import { parseQemuVersion, selectQemuVersion } from '../../electron/node/core/qemu-version.js';
import { qemuKeyOrder } from '../../electron/node/core/qemu-key-order.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('qemu-json-'));
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'a.qcow2', '1M');
  qemuImgLuks(dir, 'create', '-q', '-f', 'luks', '--object', 'secret,id=s0,data=pw', '-o', 'key-secret=s0,iter-time=10', 'a.luks', '1M');
});
afterAll(() => cleanup());

/** A stand-in qemu-img that only answers --version with `line`. */
function fakeQemuImg(name: string, script: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return file;
}

function qemuJson(args: string[], env: NodeJS.ProcessEnv = {}): any[] {
  const r = runCli(['inspect', '--qemu-json', ...args], { cwd: dir, env: { ...process.env, ...env } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

describe('qemu-img version selection', () => {
  it('reads X.Y from an option and from qemu-img --version', () => {
    expect(parseQemuVersion('9.1')).toEqual({ major: 9, minor: 1 });
    expect(parseQemuVersion('qemu-img version 10.0.2 (Debian 1:10.0.2+ds-2)\nCopyright')).toEqual({ major: 10, minor: 0 });
    expect(parseQemuVersion('no version here')).toBeNull();
  });

  it('refuses an --qemu-version that is not X.Y', () => {
    expect(() => selectQemuVersion('ten')).toThrow(/X\.Y/);
    const r = runCli(['inspect', '--qemu-json', '--qemu-version', '10', 'a.qcow2'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--qemu-version must be X\.Y/);
  });

  it('asks $DISKCHAIN_QEMU_IMG, and the option wins over it', () => {
    const old = fakeQemuImg('old-qemu-img', 'echo "qemu-img version 7.2.0"');
    expect(qemuJson(['a.qcow2'], { DISKCHAIN_QEMU_IMG: old })[0]).not.toHaveProperty('children');
    expect(qemuJson(['--qemu-version', '8.0', 'a.qcow2'], { DISKCHAIN_QEMU_IMG: old })[0]).toHaveProperty('children');
  });

  it('imitates the newest known version when the binary says nothing or hangs', () => {
    expect(selectQemuVersion(undefined, { DISKCHAIN_QEMU_IMG: fakeQemuImg('mute', 'exit 1') })).toEqual({ major: 10, minor: 0 });
    const t0 = Date.now();
    expect(selectQemuVersion(undefined, { DISKCHAIN_QEMU_IMG: fakeQemuImg('hung', 'sleep 30') })).toEqual({ major: 10, minor: 0 });
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});

describe('what each qemu version prints', () => {
  it('children from 8.0: the file node, sized in whole sectors', () => {
    expect(qemuJson(['--qemu-version', '7.2', 'a.qcow2'])[0]).not.toHaveProperty('children');
    const [e] = qemuJson(['--qemu-version', '8.0', 'a.qcow2']);
    const size = fs.statSync(path.join(dir, 'a.qcow2')).size;
    expect(e.children).toEqual([
      expect.objectContaining({
        name: 'file',
        info: expect.objectContaining({ format: 'file', 'virtual-size': Math.ceil(size / 512) * 512 }),
      }),
    ]);
  });

  it('LUKS detached-header from 9.0', () => {
    expect(qemuJson(['--qemu-version', '8.2', 'a.luks'])[0]['format-specific'].data).not.toHaveProperty('detached-header');
    expect(qemuJson(['--qemu-version', '9.0', 'a.luks'])[0]['format-specific'].data['detached-header']).toBe(false);
  });

  it("orders keys by qemu's QDict buckets, the later of two in a bucket first", () => {
    // children and backing-filename-format share a bucket; children is inserted last.
    const o = qemuKeyOrder({ 'dirty-flag': false, 'backing-filename-format': 'raw', 'virtual-size': 1, children: [] });
    expect(Object.keys(o as object)).toEqual(['children', 'backing-filename-format', 'virtual-size', 'dirty-flag']);
  });
});
