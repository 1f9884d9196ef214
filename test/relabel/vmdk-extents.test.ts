// A vmdk descriptor is only part of its disk: qemu opens every extent file it names, so the
// extents are relabelled with it, under the same consent (finding 8: an extent line naming a
// file outside the allowed folders, such as /etc/shadow, must refuse the whole plan).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostBootTime } from '../../electron/node/core/boottime.js';
import { chainNodes, type ChainNode } from '../../shared/model.js';
import type { Plan } from '../../shared/plan.js';
import { descriptor, makeVmdk, writeText } from '../formats/vmdk/fixtures.js';
import { tempDir } from '../support/qemu.js';
import { diskchain } from '../support/bin.js';
import { IMAGE_LABEL, ORIGINAL_CONTEXT, libvirtAttrs, owner, setContext, snapshot, xattr } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let outside: { dir: string; cleanup: () => void };
let env: NodeJS.ProcessEnv;
const boot = hostBootTime();
const who = ['--driver', 'all', '--user', '107', '--group', '107', '--label', IMAGE_LABEL];

beforeEach(() => {
  tmp = tempDir('diskchain-vmdk-relabel-');
  outside = tempDir('diskchain-vmdk-outside-');
  env = { DISKCHAIN_STATE_DIR: stateDir() };
});
afterEach(() => {
  tmp.cleanup();
  outside.cleanup();
});

/** The descriptor and its extent files, as `inspect --json` lists them. */
function inspected(desc: string): ChainNode {
  const r = diskchain(['inspect', '--json', desc], { env });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return (JSON.parse(r.stdout) as { root: ChainNode }).root;
}

describe('vmdk descriptors: the extent files are part of the disk', () => {
  it('twoGbMaxExtentFlat: relabel changes the descriptor and every extent, restore puts them back', () => {
    makeVmdk(tmp.dir, 'disk.vmdk', 'twoGbMaxExtentFlat', '3G');
    const desc = path.join(tmp.dir, 'disk.vmdk');
    const extents = ['disk-f001.vmdk', 'disk-f002.vmdk'].map((n) => path.join(tmp.dir, n));
    const all = [desc, ...extents];
    for (const f of all) expect(fs.existsSync(f)).toBe(true);
    fs.chownSync(extents[1]!, 1234, 1235);
    setContext(all);
    const before = snapshot(all);

    const root = inspected(desc);
    expect(root.extents?.map((e) => [e.path, e.name, e.role, e.problems])).toEqual(extents.map((e) => [e, path.basename(e), 'image', []]));
    expect(root.extents?.[1]?.owner).toMatchObject({ uid: 1234, gid: 1235 });
    expect(
      chainNodes(root)
        .map((n) => n.path)
        .sort(),
    ).toEqual([...all].sort());

    const r = diskchain(['relabel', ...who, '--allow-root', tmp.dir, '--json', desc], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { plan, result } = JSON.parse(r.stdout) as { plan: Plan; result: unknown };
    expect(result).toMatchObject({ ok: true, changed: 3 });
    expect(plan.entries.map((e) => [e.path, e.role, e.top, e.remembered])).toEqual(all.map((f) => [f, 'image', true, true]));
    for (const f of all) {
      expect(owner(f)).toBe('107:107');
      expect(xattr(f, 'security.selinux')).toBe(IMAGE_LABEL);
    }
    expect(libvirtAttrs(extents[1]!)).toEqual({
      dac: '+1234:+1235',
      ref_dac: '1',
      timestamp_dac: boot,
      selinux: ORIGINAL_CONTEXT,
      ref_selinux: '1',
      timestamp_selinux: boot,
    });
    for (const f of [desc, extents[0]!]) expect(libvirtAttrs(f)).toMatchObject({ dac: '+0:+0', ref_dac: '1', selinux: ORIGINAL_CONTEXT });

    const back = diskchain(['restore', '--driver', 'all', '--allow-root', tmp.dir, desc], { env });
    expect(back.stderr).toBe('');
    expect(back.status).toBe(0);
    expect(snapshot(all)).toEqual(before);
  });

  it('a hand-written descriptor: relative and absolute extent names, a file named twice is one file', () => {
    const sub = path.join(tmp.dir, 'sub');
    fs.mkdirSync(sub);
    fs.writeFileSync(path.join(sub, 'a.raw'), Buffer.alloc(1024));
    fs.writeFileSync(path.join(tmp.dir, 'b.raw'), Buffer.alloc(1024));
    writeText(
      sub,
      'desc.vmdk',
      descriptor(['RW 2 FLAT "a.raw" 0', `RW 2 FLAT "${path.join(tmp.dir, 'b.raw')}" 0`, 'RW 2 FLAT "a.raw" 0', 'RW 2 FLAT "./a.raw" 0']),
    );
    const desc = path.join(sub, 'desc.vmdk');
    const all = [desc, path.join(sub, 'a.raw'), path.join(tmp.dir, 'b.raw')];
    expect(inspected(desc).extents?.map((e) => [e.path, e.problems])).toEqual(all.slice(1).map((f) => [f, []]));
    setContext(all);
    const before = snapshot(all);

    const r = diskchain(['relabel', ...who, '--allow-root', tmp.dir, desc], { env });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const f of all) {
      expect(owner(f)).toBe('107:107');
      expect(libvirtAttrs(f)).toMatchObject({ dac: '+0:+0', ref_dac: '1' });
    }
    expect(diskchain(['restore', '--driver', 'all', '--allow-root', tmp.dir, desc], { env }).status).toBe(0);
    expect(snapshot(all)).toEqual(before);
  });

  it('an extent outside the allowed folders refuses the whole plan and changes nothing', () => {
    // Stands in for /etc/shadow: a root-owned file in a folder nobody allowed.
    const secret = path.join(outside.dir, 'shadow');
    fs.writeFileSync(secret, 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
    fs.chownSync(secret, 0, 0);
    writeText(tmp.dir, 'evil.vmdk', descriptor([`RW 2048 FLAT "${secret}" 0`]));
    const desc = path.join(tmp.dir, 'evil.vmdk');
    setContext([desc, secret]);
    const before = snapshot([desc, secret]);

    const r = diskchain(['relabel', ...who, '--allow-root', tmp.dir, desc], { env });
    expect(snapshot([desc, secret])).toEqual(before);
    expect(r.stderr).toContain(`refused: ${secret}: extent of ${desc}: outside the allowed folders`);
    expect(r.status).toBe(2);
    expect(inspected(desc).extents?.map((e) => e.path)).toEqual([secret]);

    const json = diskchain(['relabel', ...who, '--allow-root', tmp.dir, '--json', desc], { env });
    const { plan } = JSON.parse(json.stdout) as { plan: Plan };
    expect(plan.refusals).toEqual([{ path: secret, message: expect.stringContaining(`extent of ${desc}`) }]);
    expect(snapshot([desc, secret])).toEqual(before);

    // Restore asks the same consent of the files it would change.
    fs.chownSync(desc, 107, 107);
    const restoreBefore = snapshot([desc, secret]);
    const back = diskchain(['restore', '--driver', 'all', '--allow-root', tmp.dir, desc], { env });
    expect(back.status).toBe(2);
    expect(back.stderr).toContain(`refused: ${secret}: extent of ${desc}: outside the allowed folders`);
    expect(snapshot([desc, secret])).toEqual(restoreBefore);
  });

  it('a missing or non-regular extent refuses the plan, naming the extent', () => {
    fs.mkdirSync(path.join(tmp.dir, 'folder.raw'));
    writeText(tmp.dir, 'holes.vmdk', descriptor(['RW 2 FLAT "gone.raw" 0', 'RW 2 FLAT "folder.raw" 0', 'RW 2 FLAT "holes.vmdk" 0']));
    const desc = path.join(tmp.dir, 'holes.vmdk');
    const before = snapshot([desc]);
    expect(inspected(desc).extents?.map((e) => e.problems.map((p) => p.code))).toEqual([['missing'], ['not-regular'], ['loop']]);
    const r = diskchain(['relabel', ...who, '--allow-root', tmp.dir, desc], { env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refused: .*gone\.raw: extent of .*holes\.vmdk: extent .*gone\.raw .*does not exist/);
    expect(r.stderr).toMatch(/refused: .*folder\.raw: extent of .*holes\.vmdk: .*not a regular file/);
    expect(r.stderr).toContain(`refused: ${desc}: extent of ${desc}: extent ${desc} (named 'holes.vmdk' in ${desc}) is ${desc} again`);
    expect(snapshot([desc])).toEqual(before);
  });

  it('a monolithic sparse vmdk is its own extent: nothing more to change', () => {
    makeVmdk(tmp.dir, 'sparse.vmdk', 'monolithicSparse', '1M');
    const desc = path.join(tmp.dir, 'sparse.vmdk');
    expect(inspected(desc).extents).toBeUndefined();
    const r = diskchain(['relabel', ...who, '--json', '--dry-run', desc], { env });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as Plan).entries.map((e) => e.path)).toEqual([desc]);
  });
});
