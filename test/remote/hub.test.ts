// The window's hub of remote hosts against real sshd processes on 127.0.0.2 (one per port, each
// its own host): at most 4 handshakes at once, the unknown-key trust step (a key other than the
// one shown is not trusted), requests routed to a host and its events tagged with it, plans
// applied where they were made, and a dropped connection that reopens the host's forest.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName, HostStatus } from '../../shared/ipc.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { Hub, MAX_HANDSHAKES } from '../../electron/node/remote/hub.js';
import { listHosts } from '../../electron/node/remote/hosts-store.js';
import { sshOptions } from '../../electron/node/remote/ssh.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { installSourceAgent, sshClient, startSshd, type Sshd } from '../support/sshd.js';
import { stateDir } from '../support/state.js';

const client = sshClient();
const tmp = tempDir('diskchain-hub-');
const home = path.join(tmp.dir, 'home');
const pool = path.join(tmp.dir, 'pool');
const servers: Sshd[] = [];
const seen: Array<{ event: EventName; data: Record<string, unknown>; handshakes: number }> = [];
let hub: Hub;
const url = (s: Sshd) => `ssh://root@${s.addr}:${s.port}`;
const idOf = (s: Sshd) => parseHostSpec(url(s)).id;
const sshdOn = () => startSshd('127.0.0.2', ['root'], client.keyPub, undefined, [`SetEnv HOME=${home}`]);

beforeAll(async () => {
  fs.mkdirSync(home, { recursive: true });
  installSourceAgent({ name: 'root', home, uid: 0 }, { DISKCHAIN_STATE_DIR: stateDir() });
  fs.mkdirSync(pool);
  qemuImg(pool, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg(pool, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
  for (let i = 0; i < 6; i++) servers.push(await sshdOn());
  for (const s of servers) client.trust(s);
  Object.assign(process.env, client.env, { XDG_CONFIG_HOME: path.join(tmp.dir, 'config') });
  hub = new Hub({
    emit: (event, data) => seen.push({ event, data: data as Record<string, unknown>, handshakes: hub.handshakes }),
  });
}, 60_000);

afterAll(async () => {
  await hub?.close();
  for (const s of servers) await s.stop();
  client.close();
  tmp.cleanup();
});

describe('the hub of remote hosts', () => {
  it('connects six hosts with at most four handshakes at once, and keeps them in hosts.json', async () => {
    const states = await Promise.all(servers.map((s) => hub.add(url(s))));
    expect(states.map((h) => h.state)).toEqual(servers.map(() => 'connected'));
    const peak = Math.max(...seen.filter((e) => e.event === 'host-state').map((e) => e.handshakes));
    expect(peak).toBeLessThanOrEqual(MAX_HANDSHAKES);
    expect(peak).toBeGreaterThan(1);
    expect(
      listHosts()
        .map((h) => h.id)
        .sort(),
    ).toEqual(servers.map(idOf).sort());
  }, 120_000);

  it('routes a scan to the host and tags its events with the host', async () => {
    const host = idOf(servers[0]!);
    seen.length = 0;
    const r = await hub.request(host, 'scan', { paths: [pool] });
    expect(r.status).toBe('done');
    if (r.status !== 'done') return;
    expect(r.forest.files.map((f) => path.basename(f.path)).sort()).toEqual(['base.qcow2', 'top.qcow2']);
    const batches = seen.filter((e) => e.event === 'forest-batch');
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((e) => e.data.host === host)).toBe(true);
    expect(hub.route(`${host}:${path.join(pool, 'top.qcow2')}`)).toEqual({ host, path: path.join(pool, 'top.qcow2') });
    // Not a known host, or a local path: not routed.
    expect(hub.route(`root@127.0.0.9:22:${pool}`)).toBeNull();
    expect(hub.route(pool)).toBeNull();
    // A window that drew the batches gets only what differs from them: nothing, here.
    const drawn = await hub.request(host, 'scan', { paths: [pool], drawn: true });
    expect(drawn.status === 'done' && drawn.sinceBatches).toEqual({ removed: [], sent: 2 });
    expect(drawn.status === 'done' && drawn.forest.files).toEqual([]);
  }, 60_000);

  it("cuts a host's large batches into parts of whole trees for the window", async () => {
    const host = idOf(servers[1]!);
    const many = path.join(tmp.dir, 'many');
    fs.mkdirSync(many);
    for (const f of ['base.qcow2', 'top.qcow2']) fs.copyFileSync(path.join(pool, f), path.join(many, f));
    for (let i = 0; i < 700; i++) fs.writeFileSync(path.join(many, `f${String(i).padStart(3, '0')}.raw`), '');
    seen.length = 0;
    const r = await hub.request(host, 'scan', { paths: [many] });
    expect(r.status).toBe('done');
    const batches = seen.filter((e) => e.event === 'forest-batch').map((e) => e.data as unknown as { files: Array<{ path: string }> });
    // One batch from the agent (700 files at once), more than one here, none over the size.
    expect(batches.length).toBeGreaterThan(2);
    // A part ends with the tree that reaches the size: here at most the 2-file one past it.
    for (const b of batches) expect(b.files.length).toBeLessThanOrEqual(251);
    const sent = new Set(batches.flatMap((b) => b.files.map((f) => f.path)));
    expect(sent.size).toBe(702);
    const withTop = batches.find((b) => b.files.some((f) => f.path.endsWith('/top.qcow2')))!;
    expect(withTop.files.map((f) => path.basename(f.path))).toContain('base.qcow2');
  }, 60_000);

  it('remembers which host made a plan, for apply', async () => {
    const host = idOf(servers[0]!);
    const plan = await hub.request(host, 'plan', {
      action: 'relabel',
      top: path.join(pool, 'top.qcow2'),
      profile: { drivers: ['dac'], user: '+108', group: '+108', readonly: false, shareable: false },
    });
    expect(hub.planHost(plan.id)).toBe(host);
    expect(hub.planHost('no-such-plan')).toBeUndefined();
  }, 60_000);

  it('after a dropped connection, reconnects and reopens the forest there', async () => {
    const s = servers[0]!;
    const host = idOf(s);
    seen.length = 0;
    spawnSync('ssh', [...sshOptions(parseHostSpec(url(s))), '-O', 'exit', '--', s.addr], { stdio: 'ignore', timeout: 10_000 });
    await expect
      .poll(() => seen.find((e) => e.event === 'host-forest' && e.data.host === host), { timeout: 60_000, interval: 200 })
      .toBeTruthy();
    const states = seen.filter((e) => e.event === 'host-state' && e.data.id === host).map((e) => (e.data as unknown as HostStatus).state);
    expect(states).toContain('reconnecting');
    expect(states[states.length - 1]).toBe('connected');
  }, 90_000);

  it('an unknown host key waits for the user: only the key shown is trusted', async () => {
    const s = await sshdOn();
    servers.push(s);
    const h = await hub.add(url(s));
    expect(h.state).toBe('unknown-host-key');
    expect(h.message).toContain(h.id);
    expect(h.fingerprints?.length).toBeGreaterThan(0);
    await expect(hub.trustKey(h.id, ['256 SHA256:not-the-key root@x (ED25519)'])).rejects.toThrow(/not the one shown/);
    expect(fs.readFileSync(client.knownHosts, 'utf8')).not.toContain(s.hostKey.split(' ')[1]);
    expect((await hub.trustKey(h.id, h.fingerprints!)).state).toBe('connected');
    expect(await hub.remove(h.id)).toBe(true);
    expect(hub.list().some((x) => x.id === h.id)).toBe(false);
  }, 90_000);
});
