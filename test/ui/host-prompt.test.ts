// A host's question in the window, in Debian's chromium against `diskchain serve`: loopback sshd
// hosts (127.0.0.5 and 127.0.0.6) and a client key with a passphrase, which ssh asks for through
// diskchain's askpass. The dialog names the host; Cancel leaves it "needs a password", the right
// passphrase connects it; two kept hosts connecting at start ask one after the other.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { addHosts } from '../../electron/node/remote/hosts-store.js';
import { sshOptions } from '../../electron/node/remote/ssh.js';
import { tempDir } from '../support/qemu.js';
import { installSourceAgent, sshClient, startSshd, type Sshd } from '../support/sshd.js';
import { stateDir } from '../support/state.js';
import { SHOTS, closeAll, launchChromium, rendererDir, startServe, watchedPage, type ServeProcess } from './helpers.js';

const PASSPHRASE = 'tiger lily 42';
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('host prompts', () => {
  const client = sshClient({ passphrase: PASSPHRASE });
  const tmp = tempDir('diskchain-ui-prompt-');
  const home = path.join(tmp.dir, 'root-home');
  const servers: Sshd[] = [];
  const problems: string[] = [];
  let serve: ServeProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const url = (s: Sshd) => `ssh://root@${s.addr}:${s.port}`;
  const hostId = (s: Sshd) => parseHostSpec(url(s)).id;
  const row = (s: Sshd): Locator => page.locator(`[data-testid="host-row"][data-host="${hostId(s)}"]`);
  const dialog = () => page.getByTestId('host-prompt-dialog');

  async function open(configHome: string): Promise<void> {
    await closeAll(browser, serve, undefined);
    serve = await startServe(['--port', '0'], {
      ...client.env,
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
      XDG_CONFIG_HOME: configHome,
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await page.goto(serve.url);
  }

  /** The prompt now open: its host, after checking it names the host and asks for the passphrase. */
  async function shown(): Promise<string> {
    await dialog().waitFor({ timeout: 30_000 });
    expect(await dialog().count()).toBe(1);
    const form = dialog().locator('form');
    const host = (await form.getAttribute('data-host'))!;
    expect(await form.getAttribute('data-kind')).toBe('passphrase');
    expect(await dialog().getByRole('heading').innerText()).toContain(host);
    expect(await page.getByTestId('host-prompt-text').innerText()).toContain(client.dir);
    return host;
  }

  /** Answer the prompt open now (the next one may follow at once). */
  async function answer(text: string | null): Promise<void> {
    const id = await dialog().locator('form').getAttribute('data-prompt');
    if (text === null) await page.getByTestId('host-prompt-cancel').click();
    else {
      await page.getByTestId('host-prompt-input').fill(text);
      await page.getByTestId('host-prompt-ok').click();
    }
    await page.locator(`[data-prompt="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 });
  }

  beforeAll(async () => {
    // An ssh-agent of the person running the tests would answer instead of the passphrase.
    delete process.env.SSH_AUTH_SOCK;
    // Its ControlPath folder too, so `ssh -O exit` below reaches the window's connections.
    Object.assign(process.env, client.env);
    fs.mkdirSync(SHOTS, { recursive: true });
    fs.mkdirSync(home, { recursive: true });
    installSourceAgent({ name: 'root', home, uid: 0 }, { DISKCHAIN_STATE_DIR: stateDir() });
    for (const addr of ['127.0.0.5', '127.0.0.6']) {
      const s = await startSshd(addr, ['root'], client.keyPub, undefined, [`SetEnv HOME=${home}`]);
      servers.push(s);
      client.trust(s);
    }
    await open(path.join(tmp.dir, 'config'));
  }, 120_000);

  afterAll(async () => {
    await closeAll(browser, serve, undefined);
    for (const s of servers) await s.stop();
    client.close();
    tmp.cleanup();
  });

  it('asks for the passphrase naming the host; Cancel leaves it needing a password', async () => {
    const [a] = servers;
    await page.getByTestId('add-host').click();
    await page.getByTestId('add-host-input').fill(url(a!));
    await page.getByTestId('add-host-go').click();
    expect(await shown()).toBe(hostId(a!));
    // Focus is in the field, and Tab keeps it inside the dialog.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('host-prompt-input');
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      expect(await dialog().evaluate((d) => d.contains(document.activeElement))).toBe(true);
    }
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(c: object): Promise<{ violations: Array<{ id: string }> }> } }).axe;
      return (await axe.run({ include: [['[data-testid="host-prompt-dialog"]']] })).violations.map((v) => v.id);
    });
    expect(violations).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'host-prompt.png') });
    await answer(null);
    await expect.poll(() => row(a!).getAttribute('data-state'), { timeout: 30_000 }).toBe('needs-password');
    expect(await row(a!).getByTestId('host-state').innerText()).toBe('needs a password');
    expect(await row(a!).getByTestId('host-message').innerText()).toContain(hostId(a!));
  }, 90_000);

  it('the right passphrase connects the host', async () => {
    const [a] = servers;
    // The add dialog said why; close it and try again from the host's row.
    await page.getByTestId('add-host-dialog').getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('add-host-dialog').waitFor({ state: 'detached' });
    await row(a!).getByTestId('host-retry').click();
    expect(await shown()).toBe(hostId(a!));
    await answer(PASSPHRASE);
    await expect.poll(() => row(a!).getAttribute('data-state'), { timeout: 30_000 }).toBe('connected');
    // The answer went to ssh and nowhere else: not in the page, not in what serve printed.
    expect(await page.content()).not.toContain(PASSPHRASE);
    expect(serve!.stderr()).not.toContain(PASSPHRASE);
  }, 90_000);

  it('two kept hosts connecting at start ask one after the other', async () => {
    // A new window whose kept hosts are both servers, so both handshakes start at once and both
    // want the passphrase (the first window's ssh connection to one of them is ended first).
    const config = path.join(tmp.dir, 'config2');
    const before = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = config;
    try {
      addHosts(servers.map((s) => parseHostSpec(url(s))));
    } finally {
      if (before === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = before;
    }
    for (const s of servers)
      spawnSync('ssh', [...sshOptions(parseHostSpec(url(s))), '-O', 'exit', '--', s.addr], { stdio: 'ignore', timeout: 10_000 });
    await open(config);
    const first = await shown();
    // The other host waits its turn: still connecting, no second dialog.
    const other = servers.find((s) => hostId(s) !== first)!;
    await expect.poll(() => row(other).getAttribute('data-state'), { timeout: 5_000 }).toBe('connecting');
    expect(await dialog().count()).toBe(1);
    await answer(PASSPHRASE);
    const second = await shown();
    expect([first, second].sort()).toEqual(servers.map(hostId).sort());
    await answer(PASSPHRASE);
    for (const s of servers) await expect.poll(() => row(s).getAttribute('data-state'), { timeout: 30_000 }).toBe('connected');
    expect(problems).toEqual([]);
  }, 120_000);
});
