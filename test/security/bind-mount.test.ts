// FINDING 6 — bind mounts. A bind mount is no symlink: realpath keeps it inside the allowed
// folder, yet the file under it is root's. Whatever is reached through another mount than the
// allowed folder's own is refused. (Root makes the mounts here; the attacker only names them.)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { patchFile } from '../support/qemu.js';
import {
  IS_ROOT,
  NOT_ROOT,
  asUser,
  expectNoDeviceOpened,
  expectUntouched,
  ownerArgs,
  qemuImgAs,
  stateEnv,
  tracedDiskchain,
  useWorld,
  watch,
  type World,
} from './support.js';

const world = useWorld();

/** `mount --bind from to` for the length of `fn`. */
function withBind<T>(from: string, to: string, fn: () => T): T {
  execFileSync('mount', ['--bind', from, to]);
  try {
    return fn();
  } finally {
    execFileSync('umount', [to]);
  }
}

function relabel(w: World, top: string) {
  return tracedDiskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, top], stateEnv(w));
}

describe.skipIf(!IS_ROOT)(`bind mounts inside the allowed folder (${NOT_ROOT})`, () => {
  // FINDING 6: victim/ bind-mounted on att/mnt; the attacker's images name files under it.
  it('a backing file or data file under a folder bind mount is refused; nothing changes', () => {
    const w = world();
    asUser(w.attacker, 'mkdir', ['-p', path.join(w.att, 'mnt'), path.join(w.att, 'xxx/bin')]);
    // Backing: named without opening it. Data file: made in att/xxx, then renamed in the header
    // (qemu-img would create, and so truncate, a data file it is given).
    qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', 'mnt/secret.txt', 'back.qcow2', '1M']);
    qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', '-o', 'data_file=xxx/bin/tool', 'data.qcow2', '64K']);
    const data = path.join(w.att, 'data.qcow2');
    patchFile(data, fs.readFileSync(data).indexOf('xxx/bin/tool'), Buffer.from('mnt/bin/tool'));
    const tops = [path.join(w.att, 'back.qcow2'), data];
    const x = watch(w, tops);
    withBind(w.victim, path.join(w.att, 'mnt'), () => {
      for (const top of tops) {
        const r = relabel(w, top);
        expect(r.status, `${top}: ${r.stdout}${r.stderr}`).not.toBe(0);
        expect(r.stderr).toContain(path.join(w.att, 'mnt'));
        expectUntouched(x);
        expectNoDeviceOpened(r.trace);
      }
    });
  });

  // FINDING 6: root's secret bind-mounted over a file of the allowed folder.
  it('a top image that is a single-file bind mount is refused; nothing changes', () => {
    const w = world();
    const img = path.join(w.att, 'file.img');
    asUser(w.attacker, 'touch', [img]);
    const x = watch(w);
    withBind(w.victimSecret, img, () => {
      const r = relabel(w, img);
      expect(r.status, r.stdout + r.stderr).not.toBe(0);
      expect(r.stderr).toContain(img);
      expectUntouched(x);
      expectNoDeviceOpened(r.trace);
    });
  });
});
