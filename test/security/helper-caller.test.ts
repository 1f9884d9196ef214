// FINDING 7 — the helper trusts its caller. Started by pkexec for an ordinary user (PKEXEC_UID),
// it must act only for that user: in folders the caller owns and only they can write, and giving
// files only to the caller (or libvirt's qemu user). The attacker speaks the wire protocol directly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planChange } from '../../electron/node/relabel/index.js';
import type { VmProfile } from '../../shared/plan.js';
import {
  IS_ROOT,
  NOT_ROOT,
  expectNoDeviceOpened,
  expectUntouched,
  qemuImgAs,
  tracedHelper,
  useWorld,
  watch,
  type TestUser,
  type World,
} from './support.js';

const world = useWorld();

function profileFor(owner: TestUser, folders: string[]): VmProfile {
  return {
    drivers: ['dac'],
    user: `+${owner.uid}`,
    group: `+${owner.gid}`,
    readonly: false,
    shareable: false,
    allowRoots: folders,
    openedFolders: folders,
  };
}

/**
 * What the attacker sends for `top`: a plan request, then an apply of an exact plan (made here by
 * root's own planner, so it differs from nothing the helper re-makes).
 */
async function ask(w: World, top: string, profile: VmProfile) {
  const plan = planChange('relabel', top, profile);
  const { answers, stderr, trace } = await tracedHelper(
    [JSON.stringify({ id: 1, verb: 'plan', action: 'relabel', tops: [top], profile }), JSON.stringify({ id: 2, verb: 'apply', plan })],
    { DISKCHAIN_STATE_DIR: w.state, PKEXEC_UID: String(w.attacker.uid) },
  );
  expect(answers, stderr).toHaveLength(2);
  return { planned: answers[0], applied: answers[1], trace, localRefusals: plan.refusals };
}

/** Refusal text of one answer: its error, or its result's refusals and message; null when accepted. */
function refusalText(a: any): string | null {
  if (!a.ok) return String(a.error);
  const r = a.result;
  if (r?.refusals?.length) return r.refusals.map((x: { path: string; message: string }) => `${x.path}: ${x.message}`).join('\n');
  if (r?.ok === false) return String(r.message);
  return null;
}

function image(w: World): string {
  qemuImgAs(w.attacker, w.att, ['create', '-q', '-f', 'qcow2', 'img.qcow2', '1M']);
  return path.join(w.att, 'img.qcow2');
}

describe.skipIf(!IS_ROOT)(`the helper acts for its pkexec caller only (${NOT_ROOT})`, () => {
  // FINDING 7(a): the caller names root's private folder as allowed.
  it('refuses allowRoots/openedFolders the caller does not own', async () => {
    const w = world();
    const x = watch(w);
    const { planned, applied, trace, localRefusals } = await ask(w, w.victimSecret, profileFor(w.attacker, [w.victim]));
    expect(localRefusals).toEqual([]); // root itself may do this; the caller may not
    expect(refusalText(planned) ?? 'accepted').toMatch(/not owned by the calling user/);
    expect(refusalText(applied) ?? 'accepted').toMatch(/not owned by the calling user/);
    expectUntouched(x);
    expectNoDeviceOpened(trace);
  });

  // FINDING 7(b): the caller's own folder, but others may write to it (they could swap its files).
  it('refuses a folder the caller owns that is group- or world-writable', async () => {
    const w = world();
    const img = image(w);
    fs.chmodSync(w.att, 0o777);
    const x = watch(w, [img]);
    const { planned, applied, trace } = await ask(w, img, profileFor(w.attacker, [w.att]));
    expect(refusalText(planned) ?? 'accepted').toContain(w.att);
    expect(refusalText(applied) ?? 'accepted').toContain(w.att);
    expectUntouched(x);
    expectNoDeviceOpened(trace);
  });

  // FINDING 7(c): the caller gives their file to bob, an ordinary user.
  it('refuses giving files to another ordinary user', async () => {
    const w = world();
    const img = image(w);
    const x = watch(w, [img]);
    const { planned, applied, trace } = await ask(w, img, profileFor(w.bob, [w.att]));
    expect(refusalText(planned), 'accepted').not.toBeNull();
    expect(refusalText(applied), 'accepted').not.toBeNull();
    expectUntouched(x);
    expectNoDeviceOpened(trace);
  });

  // FINDING 7, the positive control: the caller's own 0755 folder, their own uid: it works.
  it("relabels the caller's own image in the caller's own 0755 folder to the caller", async () => {
    const w = world();
    const img = image(w);
    const x = watch(w);
    const { planned, applied, trace } = await ask(w, img, profileFor(w.attacker, [w.att]));
    expect(refusalText(planned)).toBeNull();
    expect(applied.result).toMatchObject({ ok: true, changed: 1 });
    expectUntouched(x);
    expectNoDeviceOpened(trace);
  });
});
