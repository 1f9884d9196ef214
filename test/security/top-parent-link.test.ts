// REVIEW R4 — a top whose folder is an attacker's link. The top's own folder counted as allowed
// when the top itself was no link, but that folder was resolved with realpath() after the chain
// was read: the attacker's att/d, a link, pointed at att/real while root inspected
// att/d/top.qcow2 and at root's private folder when the roots were computed. Root's folder
// became allowed, and root's relabel (or check-access --fix, whose apply re-plans from the same
// linked path) gave victim/secret.txt, the backing file the attacker's header names, to the
// attacker and opened root's folder to them with an ACL entry. Here root previews and applies
// 200 times of each while the attacker flips att/d between att/real and the victim's folder,
// and, with no race at all, runs the CLI on att/d/top.qcow2 while att/d points at the victim.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VmProfile } from '../../shared/plan.js';
import type { Tries } from './top-parent-link-run.js';
import {
  IS_ROOT,
  NOT_ROOT,
  asUser,
  expectNoDeviceOpened,
  expectUntouched,
  ownerArgs,
  qemuImgAs,
  startSwapRacer,
  stateEnv,
  symlinkAs,
  tracedDiskchain,
  tracedScript,
  useWorld,
  watch,
  writeAs,
  type World,
} from './support.js';

const world = useWorld();

const TRIES = 200;

/**
 * How the top's header names its backing file: 'absolute' is the review's victim/secret.txt (no
 * preview ever goes through); 'relative' names secret.txt beside the top, which in att/real is
 * the attacker's own, so previews go through and their applies run while the folder flips too.
 */
type Naming = 'absolute' | 'relative';

/** att/real/top.qcow2 on its backing file, and att/d → att/real, att/e → victim; returns att/d/top.qcow2. */
function linkedTop(w: World, naming: Naming): string {
  const real = path.join(w.att, 'real');
  asUser(w.attacker, 'mkdir', ['-m', '0755', real]);
  if (naming === 'relative') writeAs(w.attacker, path.join(real, 'secret.txt'), 'decoy\n');
  const backing = naming === 'absolute' ? w.victimSecret : 'secret.txt';
  qemuImgAs(w.attacker, real, ['create', '-q', '-f', 'qcow2', '-u', '-F', 'raw', '-b', backing, 'top.qcow2', '1M']);
  symlinkAs(w.attacker, real, path.join(w.att, 'd'));
  symlinkAs(w.attacker, w.victim, path.join(w.att, 'e'));
  return path.join(w.att, 'd/top.qcow2');
}

/** What root asks, for the attacker as the VM's user, with only the attacker's folder allowed. */
const REQUESTS: Record<string, (w: World, top: string) => Record<string, unknown>> = {
  'check-access --fix': (w, top) => ({
    verb: 'access-plan',
    path: top,
    profile: { user: `+${w.attacker.uid}`, group: `+${w.attacker.gid}`, allowRoots: [w.att] },
  }),
  relabel: (w, top) => {
    const profile: VmProfile = {
      drivers: ['dac'],
      user: `+${w.attacker.uid}`,
      group: `+${w.attacker.gid}`,
      readonly: false,
      shareable: false,
      allowRoots: [w.att],
    };
    return { verb: 'plan', action: 'relabel', tops: [top], profile };
  },
};

/** Why a preview or an apply may be refused while the folder flips (the chain or a folder is not what it was). */
const REASONS =
  /outside the allowed folders|symbolic link|does not exist|part of the chain|in the preview|changed since the preview|now reached as|ENOENT|ELOOP/;

describe.skipIf(!IS_ROOT)(`R4 top whose folder is an attacker link (${NOT_ROOT})`, () => {
  it.each(Object.keys(REQUESTS).flatMap((what) => (['absolute', 'relative'] as Naming[]).map((n) => [what, n] as const)))(
    `${TRIES} × root's %s on att/d/top.qcow2 (backing named %s) while d flips att/real ⇄ victim: the victim unchanged, never allowed`,
    async (what, naming) => {
      const w = world();
      const top = linkedTop(w, naming);
      const x = watch(w);
      const racer = await startSwapRacer(w.attacker, path.join(w.att, 'd'), path.join(w.att, 'e'), 'tight');
      let run;
      let swaps;
      try {
        run = tracedScript('top-parent-link-run.ts', [JSON.stringify({ request: REQUESTS[what]!(w, top), tries: TRIES })], stateEnv(w));
        ({ swaps } = await racer.stop());
      } finally {
        racer.kill();
      }
      expect(swaps, 'the racer never swapped').toBeGreaterThan(0);
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Tries;
      expect(out.applied + out.refused).toBe(TRIES);
      const attReal = fs.realpathSync(w.att);
      const outside = (paths: string[]) => paths.filter((p) => p !== attReal && !p.startsWith(attReal + '/'));
      expect(outside(out.changedPaths), `applied ${out.applied}:\n${out.messages.join('\n')}`).toEqual([]);
      expectUntouched(x);
      expectNoDeviceOpened(run.trace);
      // The review's root cause: the victim's folder counted as allowed. An apply needs that twice
      // in a row, a preview once: it shows here long before a file changes.
      expect(outside(out.roots), 'folders a preview counted as allowed').toEqual([]);
      expect(
        out.messages.filter((m) => !REASONS.test(m)),
        'refusals that do not say why',
      ).toEqual([]);
      if (naming === 'absolute') {
        expect(
          out.messages.some((m) => m.includes(w.victimSecret) && /outside the allowed folders/.test(m)),
          out.messages.join('\n'),
        ).toBe(true);
      }
    },
    60_000,
  );

  // No race: att/d points at the victim's folder, where no top.qcow2 is. Nothing there is the
  // attacker's to open up; the top cannot be found, so nothing may be fixed for it.
  it("root's CLI on att/d/top.qcow2 with att/d → victim (no top there): refused, the victim unchanged", () => {
    const w = world();
    symlinkAs(w.attacker, w.victim, path.join(w.att, 'd'));
    const top = path.join(w.att, 'd/top.qcow2');
    const x = watch(w);
    const commands = [
      ['check-access', top, ...ownerArgs(w.attacker), '--fix', '--allow-root', w.att],
      ['relabel', '--driver', 'dac', ...ownerArgs(w.attacker), '--allow-root', w.att, top],
    ];
    for (const args of commands) {
      const r = tracedDiskchain(args, stateEnv(w));
      const output = r.stdout + r.stderr;
      expect(r.status, output).not.toBe(0);
      expect(output).toMatch(/does not exist/);
      expect(output, 'a change was made').not.toMatch(/^changed [1-9]/m);
      expectUntouched(x);
      expectNoDeviceOpened(r.trace);
    }
  });
});
