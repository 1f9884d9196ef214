// The client side of the sudo relay against a real sshd and a real sudo: a connection with a
// prompt handler opts in after the hello, sudo's password question for the helper reaches the same
// handler as ssh's questions (one prompt at a time, across connections), and a cancelled question
// shows on the hub's host row as no-sudo, naming the host and the command to run there.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prompt } from '../../electron/node/remote/askpass.js';
import { INSTALLED_LAUNCHER } from '../../electron/node/change/helper-launch.js';
import { AgentConnection } from '../../electron/node/remote/connection.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { Hub } from '../../electron/node/remote/hub.js';
import { diskchain } from '../support/bin.js';
import { tempDir } from '../support/qemu.js';
import { installSourceAgent, ROOT, sshClient, sshUser, startSshd, type Sshd } from '../support/sshd.js';
import { lockSystemInstall } from '../support/system-lock.js';

const IS_ROOT = process.getuid?.() === 0;
const client = sshClient();
const user = sshUser('dcrelay');
const PASSWORD = 'relayed horse battery staple';
/** The test's own rule: the launcher, after a password (so sudo -n cannot, and sudo -A asks). */
const RULE = `/etc/sudoers.d/dctest-${user.name}`;
const hadManifest = fs.existsSync(path.join(path.dirname(INSTALLED_LAUNCHER), 'installed.json'));
const config = tempDir('diskchain-relay-');
let sshd: Sshd;
let releaseInstall: (() => void) | undefined;
const url = () => `ssh://${user.name}@${sshd.addr}:${sshd.port}`;

/** A prompt handler that records its questions and how many stood open at once. */
function recorder(answer: (p: Prompt) => string | null) {
  const asked: Prompt[] = [];
  let open = 0;
  let maxOpen = 0;
  const handler = async (p: Prompt) => {
    maxOpen = Math.max(maxOpen, ++open);
    await new Promise((r) => setTimeout(r, 300));
    open--;
    asked.push(p);
    return answer(p);
  };
  return { asked, handler, maxOpen: () => maxOpen };
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => ({ code: 'ok', message: '' }),
    (e: { code?: string; message: string }) => ({ code: e.code ?? 'error', message: e.message }),
  );

beforeAll(async () => {
  if (!IS_ROOT) return;
  releaseInstall = await lockSystemInstall();
  const bundle = path.join(ROOT, 'dist/helper/lib/helper.mjs');
  const sources = ['electron/node/change/consent.ts', 'electron/node/helper/main.ts'].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs);
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < Math.max(...sources)) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  }
  if (!fs.existsSync(INSTALLED_LAUNCHER)) {
    const r = diskchain(['install-helper']);
    expect(r.status, r.stderr).toBe(0);
  }
  installSourceAgent(user);
  execFileSync('chpasswd', { input: `${user.name}:${PASSWORD}\n` });
  fs.writeFileSync(RULE, `${user.name} ALL=(root) ${INSTALLED_LAUNCHER} ""\n`, { mode: 0o440 });
  Object.assign(process.env, client.env, { XDG_CONFIG_HOME: path.join(config.dir, 'config') });
  sshd = await startSshd('127.0.0.4', [user.name], client.keyPub);
  client.trust(sshd);
}, 20 * 60_000); // another suite may hold the system install lock for minutes

afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(RULE, { force: true });
  if (IS_ROOT) execFileSync('usermod', ['-p', '*', user.name]);
  client.close();
  config.cleanup();
  if (IS_ROOT && !hadManifest && fs.existsSync(INSTALLED_LAUNCHER)) diskchain(['uninstall-helper']);
  releaseInstall?.();
});

describe.skipIf(!IS_ROOT)('the sudo relay from the client', () => {
  it("asks sudo's question through the prompt handler, one prompt at a time across connections", async () => {
    const r = recorder((p) => (/password/i.test(p.text) ? PASSWORD : null));
    const conns = [0, 1].map(() => new AgentConnection(parseHostSpec(url()), { prompt: r.handler }));
    try {
      await Promise.all(conns.map((c) => c.connect()));
      // Each starts its own helper through sudo -A: two questions, asked one after the other.
      const undone = await Promise.all(conns.map((c) => outcome(c.request('undo', {}))));
      for (const u of undone) {
        expect(u.code).not.toBe('no-sudo');
        expect(u.message).not.toMatch(/no-sudo|privileged helper exited/);
      }
      expect(r.asked).toHaveLength(2);
      for (const p of r.asked) {
        expect(p.host).toBe(parseHostSpec(url()).id);
        expect(p.kind).toBe('password');
      }
      expect(r.maxOpen()).toBe(1);
    } finally {
      await Promise.all(conns.map((c) => c.close()));
    }
  }, 120_000);

  it('a cancelled question is no-sudo on the host row, naming the host and what to run', async () => {
    const r = recorder(() => null);
    const hub = new Hub({ emit: () => undefined, connect: { prompt: r.handler } });
    try {
      const h = await hub.add(url());
      expect(h.state).toBe('connected');
      const refused = await outcome(hub.request(h.id, 'undo', {}));
      expect(refused.code).toBe('no-sudo');
      expect(r.asked.map((p) => p.kind)).toEqual(['password']);
      const row = hub.list().find((x) => x.id === h.id)!;
      expect(row.state).toBe('connected');
      expect(row.privilege?.code).toBe('no-sudo');
      expect(row.privilege?.message).toContain(h.id);
      expect(row.privilege?.message).toContain(`diskchain install-helper --sudoers ${user.name}`);
    } finally {
      await hub.close();
    }
  }, 120_000);
});
