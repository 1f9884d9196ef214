// Remote hosts in Debian's chromium against `diskchain serve`: two loopback sshd "hosts"
// (127.0.0.3 and 127.0.0.4, each with its own host key, logging in as root so a relabel needs no
// sudo) added through "Add host…" (the first through the trust step with its fingerprint), both
// forests side by side with the "same file" hint (both hosts see the same folder), a relabel on
// one host checked on disk, and a host whose key changed (sshd restarted with a new key) refused.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { sshOptions } from '../../electron/node/remote/ssh.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { installSourceAgent, sshClient, startSshd, type Sshd } from '../support/sshd.js';
import { stateDir } from '../support/state.js';
import { SHOTS, closeAll, launchChromium, owner, rendererDir, startServe, watchedPage, type ServeProcess } from './helpers.js';

describe('hosts in the forest', () => {
  const client = sshClient();
  const tmp = tempDir('diskchain-ui-hosts-');
  const home = path.join(tmp.dir, 'root-home');
  const pool = path.join(tmp.dir, 'pool');
  const servers: Sshd[] = [];
  let a: Sshd;
  let b: Sshd;
  let serve: ServeProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const problems: string[] = [];
  const url = (s: Sshd) => `ssh://root@${s.addr}:${s.port}`;
  const hostId = (s: Sshd) => parseHostSpec(url(s)).id;
  const row = (s: Sshd): Locator => page.locator(`[data-testid="host-row"][data-host="${hostId(s)}"]`);
  const node = (s: Sshd, file: string): Locator =>
    page.locator(`[data-testid="forest-node"][data-path="${hostId(s)}:${path.join(pool, file)}"]`);
  // The agent's HOME (sshd's SetEnv): its copied agent and journal stay in this test's folder.
  const sshdFor = (addr: string, port?: number) => startSshd(addr, ['root'], client.keyPub, port, [`SetEnv HOME=${home}`]);

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    installSourceAgent({ name: 'root', home, uid: 0 }, { DISKCHAIN_STATE_DIR: stateDir() });
    fs.mkdirSync(pool);
    const q = (...args: string[]) => qemuImg(pool, 'create', '-q', '-f', 'qcow2', ...args);
    q('base.qcow2', '16M');
    q('-b', 'base.qcow2', '-F', 'qcow2', 'vm1.qcow2');
    q('-b', 'base.qcow2', '-F', 'qcow2', 'vm2.qcow2');
    a = await sshdFor('127.0.0.3');
    b = await sshdFor('127.0.0.4');
    servers.push(a, b);
    // The second host's key is known already; the first goes through the trust step.
    client.trust(b);
    Object.assign(process.env, client.env);
    serve = await startServe(['--port', '0'], {
      ...client.env,
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
      XDG_CONFIG_HOME: path.join(tmp.dir, 'config'),
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await page.goto(serve.url);
  }, 120_000);

  afterAll(async () => {
    await closeAll(browser, serve, undefined);
    for (const s of servers) await s.stop();
    client.close();
    tmp.cleanup();
  });

  async function addHost(s: Sshd): Promise<void> {
    await page.getByTestId('add-host').click();
    await page.getByTestId('add-host-input').fill(url(s));
    await page.getByTestId('add-host-go').click();
  }

  async function scanThere(s: Sshd): Promise<void> {
    await row(s).getByTestId('host-folder').fill(pool);
    await row(s).getByTestId('host-scan').click();
    await node(s, 'vm2.qcow2').waitFor({ timeout: 60_000 });
  }

  it('adds a host with an unknown key through the trust step, showing its fingerprint', async () => {
    await addHost(a);
    const fingerprints = page.getByTestId('host-fingerprints');
    await fingerprints.waitFor({ timeout: 30_000 });
    const shown = await fingerprints.innerText();
    const expected = spawnSync('ssh-keygen', ['-lf', path.join(a.dir, 'host_ed25519.pub')], { encoding: 'utf8' }).stdout.split(' ')[1]!;
    expect(shown).toContain(expected);
    await page.getByTestId('host-trust').click();
    await page.getByTestId('add-host-dialog').waitFor({ state: 'detached', timeout: 60_000 });
    expect(await row(a).getAttribute('data-state')).toBe('connected');
    // Trusted where ssh reads it, not somewhere of diskchain's own.
    expect(fs.readFileSync(client.knownHosts, 'utf8')).toContain(a.hostKey.split(' ')[1]);
  }, 90_000);

  it('adds a second host and shows both forests, with the same-file hint for shared files', async () => {
    await addHost(b);
    await page.getByTestId('add-host-dialog').waitFor({ state: 'detached', timeout: 60_000 });
    expect(await row(b).getAttribute('data-state')).toBe('connected');
    await scanThere(a);
    await scanThere(b);
    for (const s of [a, b]) for (const f of ['base.qcow2', 'vm1.qcow2', 'vm2.qcow2']) expect(await node(s, f).count()).toBe(1);
    // Filters work across hosts: one name, both hosts' files.
    await page.getByTestId('filter-name').fill('vm1');
    const matched = () =>
      page.locator('[data-testid="forest-node"][data-mark="match"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!));
    const vm1 = [a, b].map((s) => `${hostId(s)}:${path.join(pool, 'vm1.qcow2')}`).sort();
    await expect.poll(async () => (await matched()).sort(), { timeout: 10_000 }).toEqual(vm1);
    await page.getByTestId('filter-name').fill('');
    await node(a, 'vm1.qcow2').click();
    await expect.poll(() => page.getByTestId('same-file').innerText()).toContain(`${hostId(b)}:${path.join(pool, 'vm1.qcow2')}`);
    await page.screenshot({ path: path.join(SHOTS, 'hosts-two-forests.png') });
  }, 150_000);

  it('relabels a file on one host: the change is made there, on disk', async () => {
    await node(a, 'vm1.qcow2').click();
    await page.getByTestId('relabel').click();
    expect(await page.getByTestId('relabel-disk').inputValue()).toBe(`${hostId(a)}:${path.join(pool, 'vm1.qcow2')}`);
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.getByTestId('relabel-user').fill('+108');
    await page.getByTestId('relabel-group').fill('+108');
    await expect.poll(() => page.getByTestId('apply').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor({ timeout: 60_000 });
    expect(owner(path.join(pool, 'vm1.qcow2'))).toBe('108:108');
    expect(owner(path.join(pool, 'base.qcow2'))).toBe('108:108');
    expect(owner(path.join(pool, 'vm2.qcow2'))).toBe('0:0');
  }, 150_000);

  it('refuses a host whose key changed, naming the host', async () => {
    const port = b.port;
    await b.stop();
    servers.splice(servers.indexOf(b), 1);
    b = await sshdFor('127.0.0.4', port);
    servers.push(b);
    // The running connection goes through the ControlMaster made before: end it, as a reboot would.
    spawnSync('ssh', [...sshOptions(parseHostSpec(url(b))), '-O', 'exit', '--', b.addr], { stdio: 'ignore', timeout: 10_000 });
    await expect.poll(() => row(b).getAttribute('data-state'), { timeout: 60_000 }).toBe('changed-host-key');
    const message = await row(b).getByTestId('host-message').innerText();
    expect(message).toContain(hostId(b));
    expect(message).toMatch(/changed/);
    // Never offered to trust: no retry and no trust step for a changed key.
    expect(await row(b).getByTestId('host-retry').count()).toBe(0);
    // The other host stays connected.
    expect(await row(a).getAttribute('data-state')).toBe('connected');
    await page.screenshot({ path: path.join(SHOTS, 'hosts-changed-key.png') });
    expect(problems).toEqual([]);
  }, 120_000);
});
