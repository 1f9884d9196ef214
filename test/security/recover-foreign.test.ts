// REVIEW R3 — `recover` by another user closed root's interrupted run. Root's relabel was killed
// half-way; the attacker then asked the helper (through pkexec) to `recover`: the journal's roots
// were refused for them (made for uid 0), so nothing was put back, yet root's journal was marked
// recovered. Root's own `recover` then found nothing, and the file stayed half-applied for good.
// Another user's interrupted run must be left alone, for its own user or root to recover.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VmProfile } from '../../shared/plan.js';
import { snapshot } from '../support/chain.js';
import { refusalText } from './pkexec-caller.js';
import { IS_ROOT, NOT_ROOT, expectNoDeviceOpened, expectUntouched, stateEnv, tracedHelper, useWorld, watch } from './support.js';

const world = useWorld();

const VM = 107;

/** Root's journal folder, name → content; but the lock, which the killed run left for anyone to clear. */
function journalFiles(dir: string): Record<string, string> {
  const names = fs
    .readdirSync(dir)
    .filter((n) => n !== 'lock')
    .sort();
  return Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]));
}

describe.skipIf(!IS_ROOT)(`R3 recover by another user (${NOT_ROOT})`, () => {
  it("a pkexec caller's recover leaves root's interrupted run alone; root's own recover puts the files back", async () => {
    const w = world();
    const vms = path.join(w.base, 'rootvms');
    fs.mkdirSync(vms, { mode: 0o755 });
    const [top, base] = ['top.qcow2', 'base.qcow2'].map((f) => path.join(vms, f)) as [string, string];
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, top]);
    const original = snapshot([top, base]);

    // Root's own run, killed after the first file (a crash, a power cut).
    const profile: VmProfile = { drivers: ['dac'], user: `+${VM}`, group: `+${VM}`, readonly: false, shareable: false, allowRoots: [vms] };
    const planned = await tracedHelper([JSON.stringify({ id: 1, verb: 'plan', action: 'relabel', tops: [top], profile })], stateEnv(w));
    expect(refusalText(planned.answers[0])).toBeNull();
    const killed = await tracedHelper([JSON.stringify({ id: 2, verb: 'apply', plan: planned.answers[0].result })], {
      ...stateEnv(w),
      DISKCHAIN_TEST_KILL_AT: '1:0',
    });
    expect(killed.answers, 'the run was not killed').toEqual([]);
    const half = snapshot([top, base]);
    expect(half[top]).toMatchObject({ uid: VM, gid: VM });
    expect(half[base]).toEqual(original[base]);

    // The attacker, through pkexec: refused, saying whose run it is; nothing changes.
    const x = watch(w);
    const journals = journalFiles(w.state);
    const attacker = await tracedHelper([JSON.stringify({ id: 3, verb: 'recover' })], {
      ...stateEnv(w),
      PKEXEC_UID: String(w.attacker.uid),
    });
    expect(attacker.answers[0]?.result?.recovered, JSON.stringify(attacker.answers)).toEqual([]);
    expect(refusalText(attacker.answers[0]) ?? 'accepted').toMatch(/made for uid 0; only that user or root may/);
    expectUntouched(x);
    expectNoDeviceOpened(attacker.trace);
    expect(journalFiles(w.state)).toEqual(journals);

    // Root still finds its run and puts the file back.
    const root = await tracedHelper([JSON.stringify({ id: 4, verb: 'recover' })], stateEnv(w));
    expect(root.answers[0]?.result?.recovered, JSON.stringify(root.answers)).toHaveLength(1);
    expect(snapshot([top, base])).toEqual(original);
    expectNoDeviceOpened(root.trace);
  }, 180_000);
});
