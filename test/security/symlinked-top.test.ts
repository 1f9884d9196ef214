// FINDING 1 — a symlinked top, and programs in the allowed folder. The attacker links a name in
// their own (allowed) folder to root's or bob's file; root relabels or fixes access "in att" and
// must not follow the link out of it. Nor may root hand the attacker an executable file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  IS_ROOT,
  NOT_ROOT,
  expectNoDeviceOpened,
  expectUntouched,
  ownerArgs,
  stateEnv,
  symlinkAs,
  tracedDiskchain,
  tracedScript,
  useWorld,
  watch,
} from './support.js';

const world = useWorld();

describe.skipIf(!IS_ROOT)(`symlinked top and executable files (${NOT_ROOT})`, () => {
  // FINDING 1: relabel of a link in the allowed folder that points at root's file.
  it('relabel att/LINK → victim/secret.txt is refused, naming the link and its target', () => {
    const w = world();
    const link = path.join(w.att, 'LINK');
    symlinkAs(w.attacker, w.victimSecret, link);
    const x = watch(w);
    const r = tracedDiskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, link], stateEnv(w));
    const output = r.stdout + r.stderr;
    expect(r.status, output).not.toBe(0);
    expect(output).toContain(link);
    expect(output).toContain(w.victimSecret);
    expect(output).toMatch(/outside the allowed folders/);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });

  // FINDING 1: the same link through check-access --fix (folder ACLs and the file's owner).
  it("check-access --fix on links to root's and bob's files adds no ACL and changes nothing", () => {
    const w = world();
    const links = [
      [path.join(w.att, 'LINK'), w.victimSecret],
      [path.join(w.att, 'LINK2'), w.bobSecret],
    ] as const;
    for (const [link, target] of links) symlinkAs(w.attacker, target, link);
    const x = watch(w);
    for (const [link] of links) {
      const r = tracedDiskchain(['check-access', link, ...ownerArgs(w.attacker), '--fix', '--allow-root', w.att], stateEnv(w));
      expect(r.status, r.stdout + r.stderr).not.toBe(0);
      expectUntouched(x);
      expectNoDeviceOpened(r.trace);
    }
  });

  // FINDING 1: no --allow-root at all: the link's own folder is att, its target is bob's.
  it('relabel att/LINK2 → bob/private/secret.txt without --allow-root is refused', () => {
    const w = world();
    const link = path.join(w.att, 'LINK2');
    symlinkAs(w.attacker, w.bobSecret, link);
    const x = watch(w);
    const r = tracedDiskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), link], stateEnv(w));
    const output = r.stdout + r.stderr;
    expect(r.status, output).not.toBe(0);
    expect(output).toContain(w.bobSecret);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });

  // FINDING 1: programs inside the allowed folder are no disk images: never given away.
  it('relabel of an executable, setuid or setgid file in the allowed folder is refused', () => {
    const w = world();
    const files: [string, number, boolean][] = [
      ['tool.img', 0o755, false], // root put a program there
      ['mine.img', 0o755, true], // the attacker's own file, made executable
      ['suid.img', 0o4755, false],
      ['sgid.img', 0o2755, false],
    ];
    const paths = files.map(([name, mode, attackers]) => {
      const p = path.join(w.att, name);
      fs.copyFileSync('/bin/true', p);
      fs.chmodSync(p, mode);
      if (attackers) fs.chownSync(p, w.attacker.uid, w.attacker.gid);
      return p;
    });
    const x = watch(w, paths);
    for (const p of paths) {
      const r = tracedDiskchain(['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, p], stateEnv(w));
      const output = r.stdout + r.stderr;
      expect(r.status, `${p}: ${output}`).not.toBe(0);
      expect(r.stderr).toContain(p);
      expect(r.stderr).toMatch(/execut|setuid|setgid/);
      expectUntouched(x);
      expectNoDeviceOpened(r.trace);
    }
  });

  // FINDING 1: the app's path: open the attacker's folder, relabel what it shows.
  it('openPath(att) with links to victims, then plan + apply in-process: nothing outside att changes', () => {
    const w = world();
    const links = [
      [path.join(w.att, 'secret.img'), w.victimSecret],
      [path.join(w.att, 'tool.raw'), w.victimTool],
      [path.join(w.att, 'bob.qcow2'), w.bobSecret],
    ] as const;
    for (const [link, target] of links) symlinkAs(w.attacker, target, link);
    const x = watch(w);
    const profile = {
      drivers: ['dac'],
      user: `+${w.attacker.uid}`,
      group: `+${w.attacker.gid}`,
      readonly: false,
      shareable: false,
      allowRoots: [],
    };
    const r = tracedScript(
      'inproc.ts',
      [JSON.stringify({ job: 'open-folder', folder: w.att, profile, tops: links.map(([l]) => l) })],
      stateEnv(w),
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.bugs).toEqual([]);
    const attReal = fs.realpathSync(w.att);
    expect(
      out.changedPaths.filter((p: string) => !p.startsWith(attReal + '/')),
      out.messages.join('\n'),
    ).toEqual([]);
    expectUntouched(x);
    expectNoDeviceOpened(r.trace);
  });
});
