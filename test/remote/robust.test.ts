// The remote link under stress, against a real sshd: a link slowed to 1 Mbit/s (a throttling
// proxy between ssh and sshd) still carries a scan of thousands of files, compressed, with
// progress; the sshd session process killed (by pid) mid-scan reconnects and gives the same
// result; killed mid-apply, nothing is left half-applied and the failure names the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GZ_THRESHOLD } from '../../shared/agent.js';
import type { JournalSummary, Plan } from '../../shared/plan.js';
import type { ScanOutcome } from '../../shared/scan.js';
import { AgentConnection, connectAgent, RemoteError } from '../../electron/node/remote/connection.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { be64, patchFile, qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { processTree, sourceLauncher, sshClient, sshdSessionPids, sshUser, startSshd, type Sshd } from '../support/sshd.js';
import { ONE_MBIT, startThrottle, type Throttle } from '../support/throttle.js';

const client = sshClient();
const user = sshUser('dcrob1');
const work = tempDir('diskchain-robust-');
const corpus = path.join(work.dir, 'corpus');
/** One chain per apply test: a relabelled chain cannot be relabelled again as it was. */
const chains = { finish: path.join(work.dir, 'chain-finish'), recover: path.join(work.dir, 'chain-recover') };
const FOLDERS = 30;
const PER_FOLDER = 100;
const CHAIN = ['base.qcow2', 'mid1.qcow2', 'mid2.qcow2', 'top.qcow2'];
const APPLY_DELAY_MS = 400;
let sshd: Sshd;
let link: Throttle;

beforeAll(async () => {
  Object.assign(process.env, client.env);
  fs.chmodSync(work.dir, 0o755);
  // `diskchain` on the remote PATH: this checkout's CLI from source. As root it keeps its journal
  // in a folder of this test and slows each file of an apply, so a kill lands mid-apply.
  const bin = path.join(work.dir, 'bin');
  fs.mkdirSync(bin, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'user.mjs'), sourceLauncher());
  fs.writeFileSync(
    path.join(bin, 'root.mjs'),
    sourceLauncher({ DISKCHAIN_STATE_DIR: stateDir(), DISKCHAIN_TEST_FILE_DELAY_MS: String(APPLY_DELAY_MS) }),
  );
  fs.writeFileSync(
    path.join(bin, 'diskchain'),
    `#!/bin/sh\nif [ "$(id -u)" = 0 ]; then exec node ${bin}/root.mjs "$@"; fi\nexec node ${bin}/user.mjs "$@"\n`,
    { mode: 0o755 },
  );
  // A few thousand small images, each a chain of its own.
  fs.mkdirSync(corpus, { mode: 0o755 });
  qemuImg(work.dir, 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', 'one.qcow2', '64K');
  for (let d = 0; d < FOLDERS; d++) {
    const dir = path.join(corpus, `pool-${d}`);
    fs.mkdirSync(dir, { mode: 0o755 });
    for (let i = 0; i < PER_FOLDER; i++) {
      const file = path.join(dir, `vm-${i}.qcow2`);
      fs.copyFileSync(path.join(work.dir, 'one.qcow2'), file);
      // Varied virtual sizes (qcow2's size field at 24) so the results compress like real ones.
      patchFile(file, 24, be64(BigInt(1 + Math.floor(Math.random() * 2 ** 20)) * 65536n));
    }
  }
  for (const chain of Object.values(chains)) {
    fs.mkdirSync(chain, { mode: 0o755 });
    qemuImg(chain, 'create', '-q', '-f', 'qcow2', CHAIN[0]!, '1M');
    for (let i = 1; i < CHAIN.length; i++) qemuImg(chain, 'create', '-q', '-f', 'qcow2', '-b', CHAIN[i - 1]!, '-F', 'qcow2', CHAIN[i]!);
  }
  sshd = await startSshd('127.0.0.3', [user.name, 'root'], client.keyPub, undefined, [`SetEnv PATH=${bin}:/usr/bin:/bin`]);
  link = await startThrottle(sshd, ONE_MBIT);
  client.trust(sshd);
  // The link is a host of its own to ssh: its own known_hosts entry and ControlMaster.
  client.trust({ ...sshd, addr: '127.0.0.1', port: link.port });
}, 300_000);

afterAll(async () => {
  await link?.close();
  await sshd?.stop();
  client.close();
  work.cleanup();
});

const direct = (who: string) => parseHostSpec(`ssh://${who}@${sshd.addr}:${sshd.port}`);
const slow = (who: string) => parseHostSpec(`ssh://${who}@127.0.0.1:${link.port}`);

/** A scan's forest without its per-scan id and timing, files in path order: equal for equal trees. */
function forestOf(r: unknown): unknown {
  const out = r as ScanOutcome;
  expect(out.status).toBe('done');
  if (out.status !== 'done') return null;
  const { id: _id, ms: _ms, ...rest } = out.forest;
  return { ...rest, files: [...out.forest.files].sort((a, b) => a.path.localeCompare(b.path)) };
}

function scanProgress(conn: AgentConnection): Array<{ done: number; total: number }> {
  const seen: Array<{ done: number; total: number }> = [];
  conn.on('event', (name: string, data: { done: number; total: number }) => {
    if (name === 'scan-progress') seen.push({ done: data.done, total: data.total });
  });
  return seen;
}

describe('a link slowed to 1 Mbit/s', () => {
  let reference: unknown;

  it('carries a scan of 3000 files, compressed, with progress', async () => {
    const conn = await connectAgent(slow(user.name));
    try {
      const progress = scanProgress(conn);
      const before = link.bytes.down;
      const started = Date.now();
      const r = await conn.request('scan', { paths: [corpus] });
      const seconds = (Date.now() - started) / 1000;
      const wire = link.bytes.down - before;
      reference = forestOf(r);
      const json = JSON.stringify(r).length;
      console.log(
        `1 Mbit/s scan of ${FOLDERS * PER_FOLDER} files: ${seconds.toFixed(1)} s, ${wire} bytes on the wire, result JSON ${json} bytes`,
      );
      expect((r as { forest: { files: unknown[] } }).forest.files).toHaveLength(FOLDERS * PER_FOLDER);
      // The result alone is a gz frame over the threshold; everything that crossed the link
      // (hello, progress, batches, result, ssh's framing) is still less than its plain JSON.
      expect(json).toBeGreaterThan(GZ_THRESHOLD);
      expect(wire).toBeLessThan(json);
      // The proxy did hold the link to 1 Mbit/s.
      expect(seconds).toBeGreaterThanOrEqual((wire / ONE_MBIT) * 0.9);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toEqual({ done: FOLDERS * PER_FOLDER, total: FOLDERS * PER_FOLDER });
    } finally {
      await conn.close();
    }
  });

  it('a scan whose sshd session is killed mid-way reconnects and gives the same result', async () => {
    expect(reference).toBeTruthy();
    const conn = await connectAgent(slow(user.name));
    try {
      const states: string[] = [];
      conn.on('state', (s: string) => states.push(s));
      const progress = scanProgress(conn);
      const killed: number[] = [];
      conn.on('event', (name: string) => {
        if (name !== 'scan-progress' || killed.length) return;
        const sessions = sshdSessionPids(sshd);
        expect(sessions).toHaveLength(1);
        killed.push(...sessions);
        process.kill(sessions[0]!, 'SIGKILL');
      });
      const r = await conn.request('scan', { paths: [corpus] });
      expect(killed).toHaveLength(1);
      expect(states).toEqual(['reconnecting', 'ready']);
      expect(forestOf(r)).toEqual(reference);
      expect(progress.at(-1)).toEqual({ done: FOLDERS * PER_FOLDER, total: FOLDERS * PER_FOLDER });
    } finally {
      await conn.close();
    }
  });
});

describe('the sshd session killed during a remote relabel (as root)', () => {
  const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);

  /** Open the chain, preview its relabel, apply it, and kill what `victims` names at the first file done. */
  async function killedApply(conn: AgentConnection, chain: string, victims: (session: number) => number[]) {
    await conn.request('open', { paths: [chain] });
    const plan = (await conn.request('plan', {
      action: 'relabel',
      top: path.join(chain, 'top.qcow2'),
      profile: { drivers: ['dac'], user: '+107', group: '+107', readonly: false, shareable: false },
    })) as Plan;
    expect(plan.refusals).toEqual([]);
    const changing = plan.entries.filter((e) => e.changes.length > 0);
    expect(changing.length).toBeGreaterThan(1);
    let killed: number[] = [];
    let tree: number[] = [];
    conn.on('event', (name: string, data: { planId: string; done: number }) => {
      if (name !== 'progress' || data.planId !== plan.id || data.done < 1 || killed.length) return;
      const sessions = sshdSessionPids(sshd, 0);
      expect(sessions).toHaveLength(1);
      tree = processTree(sessions[0]!);
      killed = victims(sessions[0]!);
      for (const pid of killed) process.kill(pid, 'SIGKILL');
    });
    const error = await conn.request('apply', { planId: plan.id }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(killed.length).toBeGreaterThan(0);
    // Whatever still runs on the remote from the old session finishes before the files are judged.
    for (let i = 0; i < 400 && tree.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    expect(tree.filter(alive)).toEqual([]);
    /** Per changed file: still as before, or as the plan said after. */
    const states = changing.map((e) => {
      const st = fs.statSync(e.path);
      if (st.uid === e.after.uid && st.gid === e.after.gid) return 'after';
      if (st.uid === e.before.uid && st.gid === e.before.gid) return 'before';
      return 'other';
    });
    return { plan, error, states };
  }

  it('the remote agent finishes the apply; the client is told, naming the host, and finds it in the history', async () => {
    const conn = await connectAgent(direct('root'));
    try {
      // Only the sshd process: the agent under it sees its input end and finishes its work.
      const { plan, error, states } = await killedApply(conn, chains.finish, (session) => [session]);
      expect(error).toBeInstanceOf(RemoteError);
      expect((error as RemoteError).code).toBe('offline');
      expect((error as RemoteError).message).toContain(conn.spec.id);
      expect((error as RemoteError).message).toContain('dropped');
      const { entries } = (await conn.request('history', {})) as { entries: JournalSummary[] };
      const mine = entries.filter((e) => e.tops.includes(plan.top));
      expect(states).toEqual(states.map(() => 'after'));
      expect(mine.map((e) => e.status)).toEqual(['committed']);
    } finally {
      await conn.close();
    }
  });

  it('killed with the agent and helper under it, the next session recovers: every file back as it was', async () => {
    const conn = await connectAgent(direct('root'));
    try {
      const { plan, error, states } = await killedApply(conn, chains.recover, (session) => processTree(session));
      expect((error as RemoteError).code).toBe('offline');
      expect((error as RemoteError).message).toContain(conn.spec.id);
      // The reconnected agent's session recovers the interrupted change before answering.
      const info = (await conn.request('info', {})) as { notices: string[] };
      expect(info.notices.join('\n')).toMatch(/interrupted change was put back/);
      const after = plan.entries
        .filter((e) => e.changes.length > 0)
        .map((e) => {
          const st = fs.statSync(e.path);
          return [st.uid, st.gid];
        });
      expect(after).toEqual(plan.entries.filter((e) => e.changes.length > 0).map((e) => [e.before.uid, e.before.gid]));
      expect(states).not.toContain('other');
      const { entries } = (await conn.request('history', {})) as { entries: JournalSummary[] };
      expect(entries.filter((e) => e.tops.includes(plan.top)).map((e) => e.status)).toEqual(['recovered']);
    } finally {
      await conn.close();
    }
  });
});
