// The privileged helper as a process: JSON lines in, JSON lines out, trusting nothing.
import * as fs from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostBootTime } from '../../electron/node/core/boottime.js';
import { handleLine } from '../../electron/node/helper/server.js';
import { applyPlan, closeHelper, listJournal, probeHelper, recover, undo } from '../../electron/node/helper/api.js';
import { planChange } from '../../electron/node/relabel/index.js';
import { helperInvocation } from '../../electron/node/change/helper-client.js';
import type { Plan } from '../../shared/plan.js';
import { tempDir } from '../support/qemu.js';
import { startHelper } from '../support/bin.js';
import { libvirtAttrs, makeChain, owner, profile, setContext, snapshot, type Chain } from '../support/chain.js';
import { stateDir } from '../support/state.js';

let tmp: { dir: string; cleanup: () => void };
let chain: Chain;

beforeEach(() => {
  tmp = tempDir('diskchain-helper-');
  process.env.DISKCHAIN_STATE_DIR = stateDir();
  chain = makeChain(tmp.dir);
  setContext(chain.all);
});
afterEach(() => {
  closeHelper();
  delete process.env.DISKCHAIN_STATE_DIR;
  tmp.cleanup();
});
afterAll(() => closeHelper());

/** Send raw lines to a fresh helper process and collect one answer per line. */
async function converse(lines: string[], env: NodeJS.ProcessEnv = {}): Promise<any[]> {
  const child = startHelper({ DISKCHAIN_STATE_DIR: process.env.DISKCHAIN_STATE_DIR, ...env });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
  });
  for (const l of lines) child.stdin.write(l + '\n');
  child.stdin.end();
  await new Promise((resolve) => child.on('exit', resolve));
  return out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe('helper process', () => {
  it('is started directly (no pkexec) when we are root, from source under tests', () => {
    const inv = helperInvocation();
    expect(inv.command).toBe(process.execPath);
    expect(inv.args[inv.args.length - 1]).toMatch(/electron\/node\/helper\/main\.ts$/);
  });

  it('answers probe, and refuses malformed or unknown requests without dying', async () => {
    const answers = await converse([
      '{"id":1,"verb":"probe"}',
      'not json',
      '{"id":2,"verb":"chown","path":"/etc/shadow"}',
      '{"id":3,"verb":"apply","plan":{"id":"x"}}',
      '{"id":4,"verb":"undo","journalId":"../../etc/passwd"}',
      '{"id":5,"verb":"list"}',
    ]);
    expect(answers).toHaveLength(6);
    expect(answers[0]).toMatchObject({ id: 1, ok: true, result: { protocol: 1, uid: 0, bootTime: hostBootTime() } });
    expect(answers[1]).toMatchObject({ id: null, ok: false, error: 'request is not JSON' });
    expect(answers[2]).toMatchObject({ id: 2, ok: false });
    expect(answers[3]).toMatchObject({ id: 3, ok: false, error: expect.stringMatching(/invalid request/) });
    expect(answers[4]).toMatchObject({ id: 4, ok: false, error: expect.stringMatching(/journal id/) });
    expect(answers[5]).toEqual({ id: 5, ok: true, result: [] });
  });

  it('re-plans itself: a plan whose entries were edited is refused', async () => {
    const plan = planChange('relabel', chain.top, profile());
    const before = snapshot(chain.all);
    const edited: Plan = JSON.parse(JSON.stringify(plan));
    edited.entries[0]!.after.uid = 0;
    edited.entries[0]!.after.gid = 0;
    const [a] = await converse([JSON.stringify({ id: 1, verb: 'apply', plan: edited })]);
    expect(a.ok).toBe(true);
    expect(a.result.ok).toBe(false);
    expect(a.result.refusals[0].path).toBe(chain.top);
    expect(snapshot(chain.all)).toEqual(before);
  });

  it('round trip through the helper via the API, then undo and list', async () => {
    const before = snapshot(chain.all);
    const probe = await probeHelper();
    expect(probe.journalDir).toBe(process.env.DISKCHAIN_STATE_DIR);
    const r = await applyPlan(planChange('relabel', chain.top, profile()));
    expect(r).toMatchObject({ ok: true, changed: 5 });
    for (const f of chain.all) expect(owner(f)).toBe('107:107');
    const restore = await applyPlan(planChange('restore', chain.top, profile()));
    expect(restore).toMatchObject({ ok: true, changed: 2 });
    expect(libvirtAttrs(chain.top)).toEqual({});
    expect(owner(chain.top)).toBe('0:0');
    // Undo the restore, then the relabel: back to the start.
    expect((await undo()).ok).toBe(true);
    expect(owner(chain.top)).toBe('107:107');
    expect((await undo()).ok).toBe(true);
    expect(snapshot(chain.all)).toEqual(before);
    expect(listJournal().map((j) => [j.kind, j.status])).toEqual([
      ['relabel', 'undone'],
      ['restore', 'undone'],
      ['undo', 'committed'],
      ['undo', 'committed'],
    ]);
    expect((await undo()).ok).toBe(false); // nothing left to undo
    expect(await recover()).toEqual({ recovered: [], files: 0, conflicts: [] });
  });

  it('makes the plan itself on request (the unprivileged app previews what root sees)', async () => {
    fs.chmodSync(chain.topData, 0o600);
    const p = profile();
    const [a] = await converse([JSON.stringify({ id: 1, verb: 'plan', action: 'relabel', tops: [chain.top], profile: p })]);
    expect(a.ok).toBe(true);
    const local = planChange('relabel', chain.top, p);
    // Each process rounds now - /proc/uptime itself (as libvirt does): boot times may differ by 1 s.
    const noBoot = (x: unknown) => JSON.stringify(x).replace(/(boot |"timestamp_(dac|selinux)":")\d+/g, '$1B');
    expect(Math.abs(Number(a.result.bootTime) - Number(local.bootTime))).toBeLessThanOrEqual(1);
    expect(noBoot(a.result.entries)).toEqual(noBoot(local.entries));
    expect(a.result.refusals).toEqual([]);
    // That plan applies as it is.
    const [b] = await converse([JSON.stringify({ id: 2, verb: 'apply', plan: a.result })]);
    expect(b.result).toMatchObject({ ok: true, changed: 5 });
  });

  it('handleLine works in-process too', () => {
    const res = handleLine(JSON.stringify({ id: 7, verb: 'list' }));
    expect(res).toEqual({ id: 7, ok: true, result: [] });
    expect(fs.existsSync(chain.top)).toBe(true);
  });
});
