// The agent and its client through a real sshd on loopback addresses, as unprivileged users:
// the hello, a scan, `-H … inspect --json` against the local output, the typed refusals
// (unknown and changed host key, missing agent, protocol skew), many requests at once, and a
// dropped ssh session that reconnects.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PROTOCOL } from '../../shared/agent.js';
import { AgentConnection, connectAgent, RemoteError } from '../../electron/node/remote/connection.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { diskchain } from '../support/bin.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { scanHostKeys, trustHostKeys } from '../../electron/node/remote/hostkey.js';
import { installSourceAgent, removeSourceAgent, sourceLauncher, sshClient, sshUser, startSshd, type Sshd } from '../support/sshd.js';

const client = sshClient();
const worker = sshUser('dcagent1');
const noAgent = sshUser('dcagent2');
const skewed = sshUser('dcagent3');
const fresh = sshUser('dcagent4');
const servers: Sshd[] = [];
let main: Sshd;
const images = tempDir('diskchain-remote-');

async function refusal(p: Promise<unknown>): Promise<RemoteError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RemoteError);
  return e as RemoteError;
}

beforeAll(async () => {
  Object.assign(process.env, client.env);
  installSourceAgent(worker);
  removeSourceAgent(noAgent);
  removeSourceAgent(fresh);
  installSourceAgent(skewed, { DISKCHAIN_TEST_AGENT_PROTOCOL: String(AGENT_PROTOCOL + 1) });
  main = await startSshd('127.0.0.2', [worker.name, noAgent.name, skewed.name, fresh.name], client.keyPub);
  servers.push(main);
  client.trust(main);
  fs.chmodSync(images.dir, 0o755);
  qemuImg(images.dir, 'create', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg(images.dir, 'create', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
  for (const f of ['base.qcow2', 'top.qcow2']) fs.chmodSync(path.join(images.dir, f), 0o644);
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  client.close();
  images.cleanup();
});

const url = (user: string, s: Sshd = main) => `ssh://${user}@${s.addr}:${s.port}`;

describe('agent over a real sshd', () => {
  let conn: AgentConnection;
  afterAll(async () => conn?.close());

  it('says hello as the remote user, then scans, forwarding events', async () => {
    conn = new AgentConnection(parseHostSpec(url(worker.name)));
    // Asked before the hello: sent once it is in.
    const early = conn.request('info', {});
    await conn.connect();
    expect(await early).toHaveProperty('mode', 'serve');
    expect(conn.hello).toMatchObject({ protocol: AGENT_PROTOCOL, uid: worker.uid });
    expect(conn.hello!.capabilities).toContain('session');
    const events: string[] = [];
    conn.on('event', (name: string) => events.push(name));
    const r = (await conn.request('scan', { paths: [images.dir] })) as { status: string };
    expect(r.status).toBe('done');
    const text = JSON.stringify(r);
    expect(text).toContain(path.join(images.dir, 'top.qcow2'));
    expect(text).toContain(path.join(images.dir, 'base.qcow2'));
    expect(events.length).toBeGreaterThan(0);
  });

  it('answers more than 10 parallel requests over one connection', async () => {
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => conn.request(i % 2 ? 'info' : 'recent', {})));
    expect(answers).toHaveLength(24);
    for (const [i, a] of answers.entries()) expect(a).toHaveProperty(i % 2 ? 'version' : 'paths');
  });

  it('refuses a bad request with a typed error naming the host', async () => {
    const e = await refusal(conn.request('no-such-channel', {}));
    expect(e.code).toBe('bad-request');
    expect(e.message).toContain(conn.spec.id);
  });

  it('reconnects after the ssh session is killed and re-sends an idempotent request', async () => {
    const states: string[] = [];
    conn.on('state', (s: string) => states.push(s));
    const back = new Promise<void>((resolve) => conn.on('state', (s: string) => s === 'ready' && resolve()));
    process.kill(conn.sshPid!, 'SIGKILL');
    // Asked right after the kill: answered once the connection is back, whether the request went
    // out on the dying session (then re-sent) or waited for the new one.
    const info = (await conn.request('info', {})) as { version: string };
    await back;
    expect(info.version).toBeTruthy();
    expect(states).toEqual(['reconnecting', 'ready']);
  });
});

it('-H ssh://… inspect --json prints what a local inspect prints', () => {
  const top = path.join(images.dir, 'top.qcow2');
  const local = diskchain(['inspect', '--json', top]);
  const remote = diskchain(['-H', url(worker.name), 'inspect', '--json', top], { env: client.env });
  expect(remote.stderr).toBe('');
  expect(remote.status).toBe(local.status);
  expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
});

it('-H keeps the remote exit status', () => {
  const r = diskchain(['-H', url(worker.name), 'inspect', '/nonexistent/x.qcow2'], { env: client.env });
  const local = diskchain(['inspect', '/nonexistent/x.qcow2']);
  expect(local.status).not.toBe(0);
  expect(r.status).toBe(local.status);
});

it('refuses a missing agent with the exact install advice', async () => {
  const e = await refusal(connectAgent(parseHostSpec(url(noAgent.name))));
  expect(e.code).toBe('agent-missing');
  expect(e.message).toContain(e.host);
  expect(e.message).toContain(`diskchain agent --install-remote ssh://${e.host}`);
});

it('refuses an agent speaking another protocol', async () => {
  const e = await refusal(connectAgent(parseHostSpec(url(skewed.name))));
  expect(e.code).toBe('agent-too-new');
  expect(e.message).toContain(e.host);
  expect(e.message).toContain(`protocol ${AGENT_PROTOCOL + 1}`);
});

it('refuses an unknown host key, naming the host', async () => {
  const other = await startSshd('127.0.0.4', [worker.name], client.keyPub);
  servers.push(other);
  const e = await refusal(connectAgent(parseHostSpec(url(worker.name, other))));
  expect(e.code).toBe('unknown-host-key');
  expect(e.message).toContain(`127.0.0.4:${other.port}`);
});

it('trusts an unknown key after showing its fingerprint, then connects', async () => {
  const other = await startSshd('127.0.0.4', [worker.name], client.keyPub);
  servers.push(other);
  const spec = parseHostSpec(url(worker.name, other));
  const keys = scanHostKeys(spec);
  const fp = execFileSync('ssh-keygen', ['-lf', path.join(other.dir, 'host_ed25519.pub')], { encoding: 'utf8' }).split(' ')[1]!;
  expect(keys.fingerprints.join('\n')).toContain(fp);
  expect(trustHostKeys(spec, keys)).toBe(client.knownHosts);
  const c = await connectAgent(spec);
  expect(c.hello!.uid).toBe(worker.uid);
  await c.close();
});

it('--install-remote copies the agent bundle through ssh to a host without one', async () => {
  expect((await refusal(connectAgent(parseHostSpec(url(fresh.name))))).code).toBe('agent-missing');
  const bundle = tempDir('diskchain-bundle-');
  try {
    fs.writeFileSync(path.join(bundle.dir, 'diskchain.mjs'), sourceLauncher());
    const r = diskchain(['agent', '--install-remote', url(fresh.name)], { env: { ...client.env, DISKCHAIN_AGENT_BUNDLE: bundle.dir } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(fresh.home, '.local/share/diskchain/diskchain.mjs'), 'utf8')).toBe(sourceLauncher());
    const c = await connectAgent(parseHostSpec(url(fresh.name)));
    expect(c.hello!.uid).toBe(fresh.uid);
    await c.close();
  } finally {
    bundle.cleanup();
  }
});

it('refuses a changed host key', async () => {
  const first = await startSshd('127.0.0.3', [worker.name], client.keyPub);
  client.trust(first);
  await first.stop();
  const second = await startSshd('127.0.0.3', [worker.name], client.keyPub, first.port);
  servers.push(second);
  const e = await refusal(connectAgent(parseHostSpec(url(worker.name, second))));
  expect(e.code).toBe('changed-host-key');
  expect(e.message).toContain(`127.0.0.3:${second.port}`);
});
