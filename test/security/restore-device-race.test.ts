// REVIEW R2 — a restore plan opened a device. Files a plan does not change (a restore's, or a
// backing file outside the allowed folders) were captured by a path open (O_NOFOLLOW and
// O_NONBLOCK guard the last name only) that followed links in the folders on the way. The
// attacker's top named a backing file att/x/d/zero outside the allowed folder, and while root
// planned a restore (the attacker asking through pkexec, 400 times) the attacker exchanged x/d
// with x/dl, a link to /dev: root opened /dev/zero for reading.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VmProfile } from '../../shared/plan.js';
import { snapshot } from '../support/chain.js';
import { askAsCaller, refusalText } from './pkexec-caller.js';
import {
  IS_ROOT,
  NOT_ROOT,
  asUser,
  expectNoDeviceOpened,
  expectUntouched,
  qemuImgAs,
  startSwapRacer,
  symlinkAs,
  tracedHelper,
  useWorld,
  watch,
} from './support.js';

const world = useWorld();

const REQUESTS = 400;

/** S_IFREG: what the backing file must be whenever root captured it. */
const REGULAR = 0o100000;

function profileFor(allowRoots: string[], owner: string): VmProfile {
  return { drivers: ['dac'], user: owner, group: owner, readonly: false, shareable: false, allowRoots, openedFolders: [] };
}

/** Every file state a plan answer shows for `file` (restore shows the backing file as it is). */
function statesOf(answer: any, file: string): { mode: number }[] {
  return (answer?.result?.entries ?? [])
    .filter((e: { path: string }) => e.path === file)
    .flatMap((e: { before: { mode: number }; after: { mode: number } }) => [e.before, e.after]);
}

describe.skipIf(!IS_ROOT)(`R2 a restore plan racing a folder with a link to /dev (${NOT_ROOT})`, () => {
  it(`${REQUESTS} restore plans through pkexec while x/d ⇄ x/dl (→ /dev): no device opened, nothing changed`, async () => {
    const w = world();
    const vm = path.join(w.att, 'vm');
    const x = path.join(w.att, 'x');
    asUser(w.attacker, 'mkdir', ['-m', '0755', vm, x, path.join(x, 'd')]);
    const backing = path.join(x, 'd/zero');
    asUser(w.attacker, 'touch', [backing]);
    symlinkAs(w.attacker, '/dev', path.join(x, 'dl'));
    qemuImgAs(w.attacker, vm, ['create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', backing, 'top.qcow2', '1M']);
    const top = path.join(vm, 'top.qcow2');
    const caller = { uid: w.attacker.uid, state: w.state };

    // The attacker's VM ran (as the attacker): the top's owner is remembered, restore puts it back.
    const owner = `+${w.attacker.uid}`;
    const ran = await askAsCaller(caller, { verb: 'plan', action: 'relabel', tops: [top], profile: profileFor([w.att], owner) });
    expect(ran.applied.result, refusalText(ran.applied) ?? '').toMatchObject({ ok: true });

    // The restore: only the top's own folder is allowed (implicitly), the backing file is outside
    // it, shown as it is. Without the racer it is planned, the backing file read as a regular file.
    const restore = JSON.stringify({ id: 0, verb: 'plan', action: 'restore', tops: [top], profile: profileFor([], '') });
    const env = { DISKCHAIN_STATE_DIR: w.state, PKEXEC_UID: String(w.attacker.uid) };
    const control = await tracedHelper([restore], env);
    expect(refusalText(control.answers[0])).toBeNull();
    expect(statesOf(control.answers[0], backing).map((s) => s.mode & 0o170000)).toEqual([REGULAR, REGULAR]);
    expectNoDeviceOpened(control.trace);

    const watched = watch(w, [top]);
    const backingBefore = snapshot([backing])[backing];
    const racer = await startSwapRacer(w.attacker, path.join(x, 'd'), path.join(x, 'dl'), 'tight');
    let run;
    let swaps;
    try {
      run = await tracedHelper(
        Array.from({ length: REQUESTS }, () => restore),
        env,
      );
      ({ swaps } = await racer.stop());
    } finally {
      racer.kill();
    }
    expect(swaps, 'the racer never swapped').toBeGreaterThan(0);
    expect(run.answers, run.stderr).toHaveLength(REQUESTS);
    expectNoDeviceOpened(run.trace);
    expectUntouched(watched);
    // The racer may stop half-way: the backing file is then under the other name.
    const folderNow = fs.lstatSync(path.join(x, 'd')).isSymbolicLink() ? path.join(x, 'dl') : path.join(x, 'd');
    expect(Object.values(snapshot([path.join(folderNow, 'zero')]))).toEqual([backingBefore]);
    // Each plan either shows the real backing file or leaves it out (the racer was seen); a refusal says why.
    expect(run.answers.filter((a) => statesOf(a, backing).length === 0).length, 'root never saw the swap').toBeGreaterThan(0);
    const devices = run.answers.flatMap((a) => statesOf(a, backing).filter((s) => (s.mode & 0o170000) !== REGULAR));
    expect(devices, 'the backing file shown as something else').toEqual([]);
    const why = run.answers.map(refusalText).filter((t): t is string => t !== null);
    expect(
      why.filter((t) => !/symbolic link|does not exist|not a regular file|outside the allowed folders|cannot be/.test(t)),
      'refusals that do not say why',
    ).toEqual([]);
  }, 240_000);
});
