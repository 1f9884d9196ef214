// diskchain's askpass with the real ssh: a client key with a passphrase, which ssh asks for
// through SSH_ASKPASS; the question reaches the app's prompt handler one at a time across hosts.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askpassFor, type Prompt } from '../../electron/node/remote/askpass.js';
import { connectAgent, RemoteError } from '../../electron/node/remote/connection.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { installSourceAgent, sshClient, sshUser, startSshd, type Sshd } from '../support/sshd.js';

const PASSPHRASE = 'correct horse battery';
const client = sshClient({ passphrase: PASSPHRASE });
const user = sshUser('dcask1');
const servers: Sshd[] = [];
const run = promisify(execFile);

beforeAll(async () => {
  // An ssh-agent of the person running the tests would answer instead of the passphrase.
  delete process.env.SSH_AUTH_SOCK;
  Object.assign(process.env, client.env);
  installSourceAgent(user);
  for (const addr of ['127.0.0.2', '127.0.0.3']) {
    const s = await startSshd(addr, [user.name], client.keyPub);
    servers.push(s);
    client.trust(s);
  }
});

afterAll(async () => {
  for (const s of servers) await s.stop();
  client.close();
});

const spec = (s: Sshd) => parseHostSpec(`ssh://${user.name}@${s.addr}:${s.port}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A prompt handler that records its questions and how many stood open at once. */
function recorder(answer: string | null, holdMs: number) {
  const asked: Array<Prompt & { start: number; end: number }> = [];
  let open = 0;
  let maxOpen = 0;
  const handler = async (p: Prompt) => {
    maxOpen = Math.max(maxOpen, ++open);
    const start = Date.now();
    await sleep(holdMs);
    open--;
    asked.push({ ...p, start, end: Date.now() });
    return answer;
  };
  return { asked, handler, maxOpen: () => maxOpen };
}

describe('askpass socket', () => {
  it('is private, answers one question at a time, and ignores unknown tokens', async () => {
    const r = recorder('yes', 200);
    const lease = await askpassFor('h1:22', r.handler);
    try {
      const sock = fs.statSync(lease.env.DISKCHAIN_ASKPASS_SOCKET!);
      expect(sock.isSocket()).toBe(true);
      expect(sock.mode & 0o777).toBe(0o600);
      expect(fs.statSync(lease.env.DISKCHAIN_ASKPASS_SOCKET!.replace(/\/[^/]+$/, '')).mode & 0o777).toBe(0o700);
      const ask = (text: string, env = lease.env) => run(lease.env.SSH_ASKPASS!, [text], { env: { ...process.env, ...env } });
      const outs = await Promise.all([ask('Password: '), ask("Enter passphrase for key '/k': ")]);
      expect(outs.map((o) => o.stdout)).toEqual(['yes\n', 'yes\n']);
      expect(r.maxOpen()).toBe(1);
      expect(r.asked.map((p) => p.kind).sort()).toEqual(['passphrase', 'password']);
      const forged = await ask('Password: ', { ...lease.env, DISKCHAIN_ASKPASS_TOKEN: 'f'.repeat(48) }).catch((e: { code: number }) => e);
      expect(forged).toMatchObject({ code: 1 });
      expect(r.asked).toHaveLength(2);
    } finally {
      lease.release();
    }
  });
});

describe('passphrase through ssh', () => {
  it('without a prompt handler (the CLI) ssh runs in BatchMode and the host needs a password', async () => {
    const e = await connectAgent(spec(servers[0]!)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteError);
    expect((e as RemoteError).code).toBe('needs-password');
    expect((e as RemoteError).message).toContain(spec(servers[0]!).id);
  });

  it('a cancelled prompt is refused as needs-password, naming the host', async () => {
    const r = recorder(null, 10);
    const e = await connectAgent(spec(servers[0]!), { prompt: r.handler }).catch((x: unknown) => x);
    expect((e as RemoteError).code).toBe('needs-password');
    expect((e as RemoteError).message).toContain(spec(servers[0]!).id);
    expect(r.asked.map((p) => [p.host, p.kind])).toEqual([[spec(servers[0]!).id, 'passphrase']]);
  });

  it('two hosts connecting at once ask for the passphrase one after the other, and the answer lets them in', async () => {
    const r = recorder(PASSPHRASE, 500);
    const conns = await Promise.all(servers.map((s) => connectAgent(spec(s), { prompt: r.handler })));
    try {
      for (const c of conns) expect(c.hello!.uid).toBe(user.uid);
      expect(r.asked.map((p) => p.host).sort()).toEqual(servers.map((s) => spec(s).id).sort());
      for (const p of r.asked) {
        expect(p.kind).toBe('passphrase');
        expect(p.text).toContain(client.dir);
      }
      expect(r.maxOpen()).toBe(1);
      expect(r.asked[1]!.start).toBeGreaterThanOrEqual(r.asked[0]!.end);
      expect(await conns[0]!.request('info', {})).toHaveProperty('mode', 'serve');
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});
