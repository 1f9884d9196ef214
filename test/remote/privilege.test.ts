// Remote privilege for real: `install-helper --sudoers` and a real sudo, over a real sshd on
// loopback. A user without sudo gets the typed `no-sudo` refusal and nothing changes; a user with
// the scoped NOPASSWD rule relabels, restores and undoes remotely with exactly the local results
// on disk, fixes access remotely, can use the rule for nothing else, and is held by the helper to
// a pkexec caller's consent rules.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConnection } from '../../electron/node/remote/connection.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { INSTALLED_LAUNCHER } from '../../electron/node/change/helper-launch.js';
import { SUDO_ANSWER_METHOD, SUDO_PROMPT_EVENT, SUDO_RELAY_METHOD } from '../../shared/agent.js';
import { SYSTEM_JOURNAL_DIR } from '../../electron/node/change/journal.js';
import { diskchain } from '../support/bin.js';
import { makeChain, snapshot } from '../support/chain.js';
import { stateDir } from '../support/state.js';
import { installSourceAgent, ROOT, sshClient, sshUser, startSshd, type Sshd } from '../support/sshd.js';
import { lockSystemInstall } from '../support/system-lock.js';

const IS_ROOT = process.getuid?.() === 0;
const client = sshClient();
const noSudo = sshUser('dcpriva');
const withRule = sshUser('dcprivb');
const withPassword = sshUser('dcprivc');
const PASSWORD = 'correct horse battery staple';
/** A rule of the test's own (not install-helper's): the launcher, after a password. */
const PASSWORD_RULE = `/etc/sudoers.d/dctest-${withPassword.name}`;
let sshd: Sshd;
const journals: string[] = [];
/** An install another suite made (it stays, and its uninstall is its own). */
const hadManifest = fs.existsSync(path.join(path.dirname(INSTALLED_LAUNCHER), 'installed.json'));
const RULE = `/etc/sudoers.d/diskchain-${withRule.name}`;

const url = (user: string) => `ssh://${user}@${sshd.addr}:${sshd.port}`;

/** A chain in a folder of `user`'s (0755, the user's own), its files the user's. */
function userChain(user: { name: string; home: string; uid: number }, name: string) {
  const dir = path.join(user.home, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { mode: 0o755 });
  const chain = makeChain(dir);
  execFileSync('chown', ['-R', `${user.uid}:${user.uid}`, dir]);
  for (const f of chain.all) fs.chmodSync(f, 0o644);
  return chain;
}

/** Owner, mode and every xattr of each file, by its name in the folder (two chains compare equal). */
function onDisk(files: string[]): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(snapshot(files)).map(([f, s]) => [path.basename(f), { uid: s.uid, gid: s.gid, mode: s.mode, xattrs: s.xattrs }]),
  );
}

function journalOf(stdout: string): string {
  const m = /\(journal ([^;)\s]+)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  journals.push(m![1]!);
  return m![1]!;
}

/**
 * Run the installed launcher through `sudo -n` as `user`, one request per line; the answers, sudo's
 * stderr, and the helper's environment (read while it runs, from the pid a probe answers with).
 */
async function sudoHelper(user: { uid: number }, lines: string[]): Promise<{ answers: any[]; stderr: string; environ: string[] }> {
  const child = spawn('setpriv', [`--reuid=${user.uid}`, `--regid=${user.uid}`, '--init-groups', 'sudo', '-n', INSTALLED_LAUNCHER], {
    env: { PATH: process.env.PATH, NODE_OPTIONS: '--no-warnings', DISKCHAIN_STATE_DIR: '/tmp/not-this' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  let environ: string[] = [];
  const answers = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const all = answers();
    const pid = all.find((a) => a.result?.pid)?.result.pid;
    if (pid && !environ.length) environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    if (all.length >= lines.length) child.stdin.end();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('close', () => child.stdin.end());
  for (const l of lines) child.stdin.write(l + '\n');
  await new Promise((resolve) => child.on('close', resolve));
  return { answers: answers(), stderr, environ };
}

let releaseInstall: (() => void) | undefined;

beforeAll(async () => {
  releaseInstall = await lockSystemInstall();
  // install-helper copies dist/helper: it must hold this checkout's helper (its caller detection).
  const bundle = path.join(ROOT, 'dist/helper/lib/helper.mjs');
  const sources = ['electron/node/change/consent.ts', 'electron/node/helper/main.ts'].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs);
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < Math.max(...sources)) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  }
  const r = diskchain(['install-helper', '--sudoers', withRule.name]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  for (const u of [noSudo, withRule, withPassword]) installSourceAgent(u);
  execFileSync('chpasswd', { input: `${withPassword.name}:${PASSWORD}\n` });
  fs.writeFileSync(PASSWORD_RULE, `${withPassword.name} ALL=(root) ${INSTALLED_LAUNCHER} ""\n`, { mode: 0o440 });
  Object.assign(process.env, client.env);
  sshd = await startSshd('127.0.0.3', [noSudo.name, withRule.name, withPassword.name], client.keyPub);
  client.trust(sshd);
}, 20 * 60_000); // the pkexec suite may hold the system install lock for minutes

afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(PASSWORD_RULE, { force: true });
  execFileSync('usermod', ['-p', '*', withPassword.name]);
  client.close();
  if (!hadManifest && fs.existsSync(INSTALLED_LAUNCHER)) diskchain(['uninstall-helper']);
  else fs.rmSync(RULE, { force: true });
  for (const id of journals) fs.rmSync(path.join(SYSTEM_JOURNAL_DIR, `${id}.jsonl`), { force: true });
  releaseInstall?.();
});

describe.skipIf(!IS_ROOT)('remote privilege through sudo', () => {
  it('install-helper --sudoers writes a 0440 rule for exactly the launcher, that visudo accepts', () => {
    const st = fs.statSync(RULE);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o440]);
    const text = fs.readFileSync(RULE, 'utf8');
    expect(text).toContain(`${withRule.name} ALL=(root) NOPASSWD: NOSETENV: ${INSTALLED_LAUNCHER} ""`);
    expect(text).not.toMatch(/\*|ALL\s*$|SETENV:(?<!NOSETENV:)/m);
    expect(spawnSync('visudo', ['-cqf', RULE]).status).toBe(0);
    // A name sudoers would read as something else is refused before anything is written.
    const bad = diskchain(['install-helper', '--sudoers', 'ALL']);
    expect(bad.status).not.toBe(0);
    expect(fs.existsSync('/etc/sudoers.d/diskchain-ALL')).toBe(false);
  });

  it('the rule runs nothing else: not another binary, not the launcher with arguments, no environment', async () => {
    const as = ['setpriv', `--reuid=${withRule.uid}`, `--regid=${withRule.uid}`, '--init-groups'];
    for (const cmd of [['/bin/true'], ['/bin/sh', '-c', 'id'], [INSTALLED_LAUNCHER, 'x'], ['FOO=1', INSTALLED_LAUNCHER]]) {
      const r = spawnSync(as[0]!, [...as.slice(1), 'sudo', '-n', ...cmd], { encoding: 'utf8', input: '' });
      expect(r.status, `sudo -n ${cmd.join(' ')}: ${r.stderr}`).not.toBe(0);
    }
    // The helper it starts sees SUDO_UID, and none of the caller's environment.
    const { answers, environ: env } = await sudoHelper(withRule, ['{"id":1,"verb":"probe"}']);
    expect(answers[0]).toMatchObject({ ok: true, result: { uid: 0 } });
    expect(env).toContain(`SUDO_UID=${withRule.uid}`);
    // The helper takes SUDO_UID as its caller only when sudo ran the launcher itself.
    expect(env).toContain(`SUDO_COMMAND=${INSTALLED_LAUNCHER}`);
    expect(env.filter((e) => /^(NODE_OPTIONS|DISKCHAIN_STATE_DIR)=/.test(e))).toEqual([]);
  }, 60_000);

  // FINDING 7(c) of test/security/helper-caller.test.ts, through sudo: the caller gives their file to another ordinary user.
  it('holds a sudo caller to the consent rules of a pkexec caller', async () => {
    const chain = userChain(withRule, 'consent');
    const before = onDisk(chain.all);
    const profile = (uid: number) => ({
      drivers: ['dac'],
      user: `+${uid}`,
      group: `+${uid}`,
      readonly: false,
      shareable: false,
      allowRoots: [path.dirname(chain.top)],
      openedFolders: [path.dirname(chain.top)],
    });
    const plan = (uid: number) => JSON.stringify({ id: 1, verb: 'plan', action: 'relabel', tops: [chain.top], profile: profile(uid) });
    const toOther = await sudoHelper(withRule, [plan(noSudo.uid)]);
    expect(JSON.stringify(toOther.answers[0]), toOther.stderr).toMatch(/files go only to the calling user/);
    // The control: the same request for the caller itself is planned.
    const toSelf = await sudoHelper(withRule, [plan(withRule.uid)]);
    expect(toSelf.answers[0], toSelf.stderr).toMatchObject({ ok: true, result: { refusals: [] } });
    expect(onDisk(chain.all)).toEqual(before);
  }, 60_000);

  it('a user without sudo gets the typed no-sudo refusal naming the host and what to run, and nothing changes', async () => {
    const chain = userChain(noSudo, 'imgs');
    const before = onDisk(chain.all);
    const r = diskchain(['-H', url(noSudo.name), 'relabel', '--user', noSudo.name, '--group', noSudo.name, chain.top], { env: client.env });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no-sudo: ');
    expect(r.stderr).toContain(`on ${os.hostname()}`);
    expect(r.stderr).toContain(`diskchain install-helper --sudoers ${noSudo.name}`);
    expect(onDisk(chain.all)).toEqual(before);
    // The agent says which user may use sudo for the helper, and types the refusal.
    const a = new AgentConnection(parseHostSpec(url(noSudo.name)));
    const b = new AgentConnection(parseHostSpec(url(withRule.name)));
    try {
      await Promise.all([a.connect(), b.connect()]);
      expect(a.hello!.capabilities).not.toContain('helper-sudo');
      expect(b.hello!.capabilities).toContain('helper-sudo');
      const refused = await a.request('undo', {}).then(
        () => null,
        (e: unknown) => e as { code: string },
      );
      expect(refused?.code).toBe('no-sudo');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 120_000);

  it('relabel, restore and undo over ssh give exactly the local results on disk', () => {
    const remote = userChain(withRule, 'remote');
    const local = userChain(withRule, 'local');
    const localEnv = { DISKCHAIN_STATE_DIR: stateDir() };
    const owner = ['--user', withRule.name, '--group', withRule.name];
    // Root takes a folder in a user's home only when named; the user may name their own.
    const step = (args: string[]) => {
      const r = diskchain(['-H', url(withRule.name), ...args, '--allow-root', remote.dir, remote.top], { env: client.env });
      const l = diskchain([...args, '--allow-root', local.dir, local.top], { env: localEnv });
      expect(r.status, r.stderr).toBe(0);
      expect(l.status, l.stderr).toBe(0);
      expect(onDisk(remote.all)).toEqual(onDisk(local.all));
      return { remote: r.stdout, local: l.stdout };
    };
    const start = onDisk(remote.all);
    const relabelled = step(['relabel', ...owner]);
    journalOf(relabelled.remote);
    // The relabel did change something only root may (libvirt's trusted.* records).
    expect(onDisk(remote.all)).not.toEqual(start);
    const restored = step(['restore']);
    const ids = { remote: journalOf(restored.remote), local: journalOf(restored.local) };
    const r = diskchain(['-H', url(withRule.name), 'undo', ids.remote], { env: client.env });
    const l = diskchain(['undo', ids.local], { env: localEnv });
    expect(r.status, r.stderr).toBe(0);
    expect(l.status, l.stderr).toBe(0);
    journalOf(r.stdout);
    expect(onDisk(remote.all)).toEqual(onDisk(local.all));
  }, 180_000);

  it('fixes access over ssh', () => {
    const chain = userChain(withRule, 'access');
    fs.chmodSync(chain.top, 0o200);
    const args = ['check-access', '--user', withRule.name, '--group', withRule.name];
    const blocked = diskchain(['-H', url(withRule.name), ...args, chain.top], { env: client.env });
    expect(blocked.status, blocked.stdout).not.toBe(0);
    const fixed = diskchain(['-H', url(withRule.name), ...args, '--fix', chain.top], { env: client.env });
    expect(fixed.status, fixed.stderr).toBe(0);
    journalOf(fixed.stdout);
    const after = diskchain(['-H', url(withRule.name), ...args, chain.top], { env: client.env });
    expect(after.status, after.stdout).toBe(0);
  }, 120_000);

  it("relays sudo's password question to the client when the rule asks for one; a cancel is no-sudo", async () => {
    const conn = new AgentConnection(parseHostSpec(url(withPassword.name)));
    const asked: { id: number; host: string; text: string }[] = [];
    let answer: string | null = PASSWORD;
    conn.on('event', (name: string, data: { id: number; host: string; text: string }) => {
      if (name !== SUDO_PROMPT_EVENT) return;
      asked.push(data);
      void conn.request(SUDO_ANSWER_METHOD, { id: data.id, answer });
    });
    try {
      await conn.connect();
      expect(conn.hello!.capabilities).not.toContain('helper-sudo');
      await conn.request(SUDO_RELAY_METHOD, {});
      const outcome = (p: Promise<unknown>) =>
        p.then(
          (v) => ({ code: 'ok', message: JSON.stringify(v) }),
          (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
        );
      // The helper starts (as root, for this user): what it says of the empty journal is its own answer.
      const undone = await outcome(conn.request('undo', {}));
      expect(asked).toHaveLength(1);
      expect(asked[0]).toMatchObject({ host: os.hostname() });
      expect(asked[0]!.text).toMatch(/password/i);
      expect(undone.code).not.toBe('no-sudo');
      expect(undone.message).not.toMatch(/no-sudo|privileged helper exited/);
      await conn.request('undo', {}).catch(() => undefined);
      expect(asked, 'the helper is kept: one password per session').toHaveLength(1);
    } finally {
      await conn.close();
    }
    // A new session, and the question cancelled: the typed refusal.
    answer = null;
    const again = new AgentConnection(parseHostSpec(url(withPassword.name)));
    again.on('event', (name: string, data: { id: number }) => {
      if (name === SUDO_PROMPT_EVENT) void again.request(SUDO_ANSWER_METHOD, { id: data.id, answer: null });
    });
    try {
      await again.connect();
      await again.request(SUDO_RELAY_METHOD, {});
      const refused = await again.request('undo', {}).then(
        () => null,
        (e: { code: string }) => e,
      );
      expect(refused?.code).toBe('no-sudo');
    } finally {
      await again.close();
    }
  }, 120_000);

  it.skipIf(hadManifest)('uninstall-helper removes the rule with the helper', () => {
    const r = diskchain(['uninstall-helper']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${RULE}`);
    expect(fs.existsSync(RULE)).toBe(false);
    expect(fs.existsSync(INSTALLED_LAUNCHER)).toBe(false);
  });
});
