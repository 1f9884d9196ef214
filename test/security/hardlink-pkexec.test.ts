// REVIEW R5 — hard links through pkexec. allowHardLinks came from the caller's request: with
// fs.protected_hardlinks=1 the attacker may still hard-link any file they can read and write
// (bob's 0666 file) into their own folder, and the helper then gave bob's file to the attacker
// (relabel) or to root (restore). Through pkexec allowHardLinks must be refused, and the link
// must not be changed without it either.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Action, VmProfile } from '../../shared/plan.js';
import { askAsCaller, refusalText } from './pkexec-caller.js';
import { IS_ROOT, NOT_ROOT, asUser, expectNoDeviceOpened, expectUntouched, useWorld, watch, type World } from './support.js';

const world = useWorld();

/** bob's 0666 file in bob's own 0755 folder, hard-linked by the attacker as att/mine.img. */
function linkBobsFile(w: World): { link: string } {
  const pub = path.join(w.base, 'bob/pub');
  fs.mkdirSync(pub, { mode: 0o755 });
  fs.chownSync(pub, w.bob.uid, w.bob.gid);
  const bobFile = path.join(pub, 'shared.img');
  fs.writeFileSync(bobFile, 'bob data\n');
  fs.chownSync(bobFile, w.bob.uid, w.bob.gid);
  fs.chmodSync(bobFile, 0o666);
  const link = path.join(w.att, 'mine.img');
  asUser(w.attacker, 'ln', [bobFile, link]);
  return { link };
}

function profileFor(w: World, allowHardLinks: boolean): VmProfile {
  return {
    drivers: ['dac'],
    user: `+${w.attacker.uid}`,
    group: `+${w.attacker.gid}`,
    readonly: false,
    shareable: false,
    allowRoots: [w.att],
    openedFolders: [w.att],
    allowHardLinks,
  };
}

describe.skipIf(!IS_ROOT)(`R5 hard links through pkexec (${NOT_ROOT})`, () => {
  it.each<Action>(['relabel', 'restore'])("%s with allowHardLinks: true is refused; bob's linked file is unchanged", async (action) => {
    const w = world();
    const { link } = linkBobsFile(w);
    const x = watch(w); // bob's file among them
    const { asRoot, planned, applied, trace } = await askAsCaller(
      { uid: w.attacker.uid, state: w.state },
      {
        verb: 'plan',
        action,
        tops: [link],
        profile: profileFor(w, true),
      },
    );
    expect(refusalText(asRoot)).toBeNull(); // root may allow hard links; the caller may not
    expect(refusalText(planned) ?? 'accepted').toMatch(/hard-linked files can be allowed by root only/);
    expect(refusalText(applied) ?? 'accepted').toMatch(/hard-linked files can be allowed by root only/);
    expectUntouched(x);
    expectNoDeviceOpened(trace);
  });

  it('relabel without allowHardLinks is refused, naming the link count', async () => {
    const w = world();
    const { link } = linkBobsFile(w);
    const x = watch(w); // bob's file among them
    const { planned, applied, trace } = await askAsCaller(
      { uid: w.attacker.uid, state: w.state },
      {
        verb: 'plan',
        action: 'relabel',
        tops: [link],
        profile: profileFor(w, false),
      },
    );
    expect(refusalText(planned) ?? 'accepted').toMatch(/has 2 hard links/);
    expect(refusalText(applied), 'accepted').not.toBeNull();
    expectUntouched(x);
    expectNoDeviceOpened(trace);
  });
});
