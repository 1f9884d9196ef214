// The CLI's text and --json output of a deep chain, byte for byte, against fixtures the code
// printed before inspect was made faster: speed work must not move a byte. Paths and what the
// file system decides (device, inode, times, allocation) are normalised; everything else is exact.
// DISKCHAIN_WRITE_FIXTURES=1 rewrites the fixtures (only from code known to be right).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lsetxattr } from '../../electron/node/native/libc.js';
import { diskchain } from '../support/bin.js';
import { qemuImg as q, tempDir } from '../support/qemu.js';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const LAYERS = 230;

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('deep-output-'));
  q(dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=c0.raw', 'c0.qcow2', '1M');
  q(dir, 'create', '-q', '-f', 'qcow2', '-u', '-b', 'c0.qcow2', '-F', 'qcow2', 'tmpl.qcow2', '64M');
  const bytes = fs.readFileSync(path.join(dir, 'tmpl.qcow2'));
  fs.rmSync(path.join(dir, 'tmpl.qcow2'));
  const off = Number(bytes.readBigUInt64BE(8));
  for (let i = 1; i < LAYERS; i++) {
    // Every 50th layer is reached through a symlink, so names and real paths differ.
    const named = i % 50 === 1 && i > 1 ? `l${i - 1}.qcow2` : `c${i - 1}.qcow2`;
    const b = Buffer.from(bytes);
    b.fill(0, off, off + 16);
    Buffer.from(named).copy(b, off);
    b.writeUInt32BE(named.length, 16);
    fs.writeFileSync(path.join(dir, `c${i}.qcow2`), b);
    if (named.startsWith('l')) fs.symlinkSync(`c${i - 1}.qcow2`, path.join(dir, named));
  }
  // libvirt's records on a few layers (a stale boot), and an xattr that is not libvirt's.
  for (const i of [0, 7, 150]) {
    const f = path.join(dir, `c${i}.qcow2`);
    lsetxattr(f, 'trusted.libvirt.security.dac', '+107:+107');
    lsetxattr(f, 'trusted.libvirt.security.ref_dac', '2');
    lsetxattr(f, 'trusted.libvirt.security.timestamp_dac', '1');
    lsetxattr(f, 'user.other', 'x');
  }
});
afterAll(() => cleanup());

function normaliseText(s: string): string {
  return s.replaceAll(dir, '<DIR>').replace(/[\d.]+ (B|KiB|MiB|GiB) allocated/g, '<N> allocated');
}

function normaliseJson(s: string): string {
  const fsFields = new Set(['dev', 'ino', 'mtimeMs', 'allocated']);
  // Re-serialised with the keys in the order the CLI wrote them, so key order is still compared.
  const doc = JSON.parse(s.replaceAll(dir, '<DIR>'), (k, v: unknown) => (fsFields.has(k) ? 0 : v));
  return JSON.stringify(doc) + '\n';
}

function matchesFixture(name: string, actual: string): void {
  const file = path.join(FIXTURES, name);
  if (process.env.DISKCHAIN_WRITE_FIXTURES === '1') {
    fs.mkdirSync(FIXTURES, { recursive: true });
    fs.writeFileSync(file, actual);
  }
  expect(actual === fs.readFileSync(file, 'utf8')).toBe(true);
}

it(`inspect of a ${LAYERS}-deep chain prints the same text and --json as before`, () => {
  const top = path.join(dir, `c${LAYERS - 1}.qcow2`);
  const text = diskchain(['inspect', top]);
  expect(text.status).toBe(0);
  matchesFixture('deep-chain.txt', normaliseText(text.stdout));
  // Relative to the working folder too: the top as typed reaches the output's names.
  const json = diskchain(['inspect', '--json', path.basename(top)], { cwd: dir });
  expect(json.status).toBe(0);
  matchesFixture('deep-chain.json', normaliseJson(json.stdout));
});
