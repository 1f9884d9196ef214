// kill -9 half-way, then `diskchain recover`: every file exactly as before.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lsetxattr } from '../../electron/node/native/libc.js';
import { listJournal } from '../../electron/node/helper/api.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { diskchain } from '../support/bin.js';
import { PREFIX, setContext, snapshot } from '../support/chain.js';
import { stateDir } from '../support/state.js';

const DISKS = 250; // 250 images + 250 data files = 500 files

let tmp: { dir: string; cleanup: () => void };
let images: string[];
let files: string[];
let env: NodeJS.ProcessEnv;

/** 250 qcow2 images, each with its own data file; varied owners, modes, contexts and records. */
function makePool(dir: string): void {
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', 'data_file=d000.raw', 'i000.qcow2', '64K');
  const first = fs.readFileSync(path.join(dir, 'i000.qcow2'));
  images = [];
  files = [];
  for (let i = 0; i < DISKS; i++) {
    const n = String(i).padStart(3, '0');
    const image = path.join(dir, `i${n}.qcow2`);
    const data = path.join(dir, `d${n}.raw`);
    if (i > 0) {
      const bytes = Buffer.from(first);
      Buffer.from(`d${n}.raw`).copy(bytes, bytes.indexOf(Buffer.from('d000.raw')));
      fs.writeFileSync(image, bytes);
      fs.writeFileSync(data, Buffer.alloc(0));
    }
    images.push(image);
    files.push(image, data);
  }
  setContext(files);
  files.forEach((f, i) => {
    if (i % 3 === 0) fs.chownSync(f, 1000, 1001);
    if (i % 5 === 0) fs.chmodSync(f, 0o600);
    if (i % 7 === 0) lsetxattr(f, 'user.note', `file ${i}`);
    if (i % 11 === 0) {
      // A record from another boot: purged by the relabel, and must come back on recovery.
      lsetxattr(f, PREFIX + 'dac', '+9:+9');
      lsetxattr(f, PREFIX + 'ref_dac', '2');
      lsetxattr(f, PREFIX + 'timestamp_dac', '1000');
    }
  });
}

const relabelArgs = () => [
  'relabel',
  '--driver',
  'all',
  '--user',
  '+107',
  '--group',
  '+107',
  '--label',
  'system_u:object_r:svirt_image_t:s0:c1,c2',
  ...images,
];

beforeAll(() => {
  tmp = tempDir('diskchain-crash-');
  env = { DISKCHAIN_STATE_DIR: stateDir() };
  makePool(tmp.dir);
});
afterAll(() => tmp.cleanup());

function owned107(): number {
  return files.filter((f) => fs.statSync(f).uid === 107).length;
}

describe('kill -9 half-way', () => {
  it('relabelling 500 files is killed at file 250, in the middle of its changes; recover puts every file back', () => {
    const before = snapshot(files);
    const killed = diskchain(relabelArgs(), { env: { ...env, DISKCHAIN_TEST_KILL_AT: '250:2' } });
    expect(killed.status).not.toBe(0);
    expect(killed.stderr).toMatch(/helper exited \(SIGKILL\)/);
    const changed = owned107();
    expect(changed).toBeGreaterThanOrEqual(250);
    expect(changed).toBeLessThan(500);

    process.env.DISKCHAIN_STATE_DIR = env.DISKCHAIN_STATE_DIR;
    try {
      expect(listJournal().map((j) => j.status)).toEqual(['interrupted']);
    } finally {
      delete process.env.DISKCHAIN_STATE_DIR;
    }

    // Nothing new is done over an interrupted run.
    const refused = diskchain(relabelArgs(), { env });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/diskchain recover/);

    const rec = diskchain(['recover', '--json'], { env });
    expect(rec.stderr).toBe('');
    expect(rec.status).toBe(0);
    const r = JSON.parse(rec.stdout);
    expect(r.recovered).toHaveLength(1);
    expect(r.conflicts).toEqual([]);
    expect(snapshot(files)).toEqual(before);

    expect(JSON.parse(diskchain(['recover', '--json'], { env }).stdout).recovered).toEqual([]);
  });

  it('after recovery the same relabel runs whole, and an undo killed half-way is recovered to the relabelled state', () => {
    const before = snapshot(files);
    const ok = diskchain(relabelArgs(), { env });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(owned107()).toBe(500);
    const relabelled = snapshot(files);

    const killed = diskchain(['undo'], { env: { ...env, DISKCHAIN_TEST_KILL_AT: '300' } });
    expect(killed.status).not.toBe(0);
    expect(owned107()).toBe(200);
    expect(diskchain(['recover'], { env }).status).toBe(0);
    expect(snapshot(files)).toEqual(relabelled);

    const undone = diskchain(['undo'], { env });
    expect(undone.status).toBe(0);
    expect(snapshot(files)).toEqual(before);
  });
});
