// The access verdict above the graph (Debian's chromium against `diskchain serve`, as root): for
// qemu.conf's user (+107) it says whether every file of the disk in view can be opened, names
// each blocker with its real path and reason, marks the blocked cards, and Fix… opens the
// previewed fix on the panel's Access tab.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { SHOTS, launchChromium, rendererDir, startServe, type ServeProcess, closeAll, watchedPage } from './helpers.js';

describe('the access verdict', () => {
  let tmp: { dir: string; cleanup: () => void };
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const at = (...p: string[]) => path.join(tmp.dir, ...p);
  const node = (p: string): Locator => page.locator(`[data-testid="chain-node"][data-path="${p}"]`);
  const banner = () => page.getByTestId('access-verdict');
  const bannerBlockers = () => page.locator('[data-testid="access-verdict"] [data-testid="blocker"]');
  /** The banner once it speaks of `top`, with its state. */
  const verdictFor = async (top: string, state: 'ok' | 'blocked') => {
    const b = page.locator(`[data-testid="access-verdict"][data-top="${top}"][data-state="${state}"][aria-busy="false"]`);
    await b.waitFor({ timeout: 20_000 });
    return b;
  };

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-verdict-');
    fs.chmodSync(tmp.dir, 0o755);
    // ok: one image the VM's user owns, in a folder everyone may search.
    fs.mkdirSync(at('ok'), { mode: 0o755 });
    qemuImg(at('ok'), 'create', '-q', '-f', 'qcow2', 'vm.qcow2', '8M');
    fs.chownSync(at('ok', 'vm.qcow2'), 107, 107);
    // blocked: the VM's own top over a base only root may read.
    fs.mkdirSync(at('based'), { mode: 0o755 });
    qemuImg(at('based'), 'create', '-q', '-f', 'qcow2', 'base.qcow2', '8M');
    qemuImg(at('based'), 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm.qcow2');
    fs.chmodSync(at('based', 'base.qcow2'), 0o600);
    fs.chownSync(at('based', 'vm.qcow2'), 107, 107);
    // blocked: a folder uid 107 cannot search.
    fs.mkdirSync(at('locked'));
    qemuImg(at('locked'), 'create', '-q', '-f', 'qcow2', 'vm.qcow2', '8M');
    fs.chownSync(at('locked', 'vm.qcow2'), 107, 107);
    fs.chmodSync(at('locked'), 0o700);
    const conf = at('qemu.conf');
    fs.writeFileSync(conf, 'user = "+107"\ngroup = "+107"\n');
    serve = await startServe(['--port', '0', at('ok', 'vm.qcow2'), at('based', 'vm.qcow2'), at('locked', 'vm.qcow2')], {
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
      DISKCHAIN_QEMU_CONF: conf,
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
  });

  afterAll(() => closeAll(browser, serve, tmp));

  it('says the VM user can open every file of a disk it can open', async () => {
    await page.goto(serve.url);
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 20_000 }).toBe(4);
    const top = at('ok', 'vm.qcow2');
    await node(top).click();
    const b = await verdictFor(top, 'ok');
    expect(await b.getByTestId('verdict-text').textContent()).toMatch(/^\S+ \(107:107\) can open every file$/);
    expect(await bannerBlockers().count()).toBe(0);
    expect(await page.locator('[data-testid="chain-node"][data-blocked="true"]').count()).toBe(0);
  });

  it('names a base only root may read, marks its card, and the top is not blamed', async () => {
    const top = at('based', 'vm.qcow2');
    const base = at('based', 'base.qcow2');
    await node(top).click();
    const b = await verdictFor(top, 'blocked');
    expect(await b.getByTestId('verdict-text').textContent()).toMatch(/^\S+ \(107:107\) cannot open 1 of 2 files/);
    const blockers = await bannerBlockers().evaluateAll((els) => els.map((e) => [e.getAttribute('data-path'), e.textContent]));
    expect(blockers).toEqual([[base, 'base.qcow2: mode 0600 root:root']]);
    await expect.poll(() => node(base).getAttribute('data-blocked')).toBe('true');
    expect(await node(base).getAttribute('title')).toBe('base.qcow2: mode 0600 root:root');
    expect(await node(top).getAttribute('data-blocked')).toBeNull();
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, 'verdict-blocked.png') });
  });

  it('names a folder the VM user cannot search', async () => {
    const top = at('locked', 'vm.qcow2');
    await node(top).click();
    const b = await verdictFor(top, 'blocked');
    expect(await b.getByTestId('verdict-text').textContent()).toMatch(/^\S+ \(107:107\) cannot open 1 of 1 files/);
    const blockers = await bannerBlockers().evaluateAll((els) => els.map((e) => [e.getAttribute('data-path'), e.textContent]));
    expect(blockers).toEqual([[at('locked'), `${at('locked')}: no search permission`]]);
    await expect.poll(() => node(top).getAttribute('data-blocked')).toBe('true');
  });

  it('Fix… opens the panel on its Access tab with the previewed fix', async () => {
    const top = at('based', 'vm.qcow2');
    await node(top).click();
    const b = await verdictFor(top, 'blocked');
    await b.getByTestId('verdict-fix').click();
    await page.getByTestId('relabel-panel').waitFor();
    expect(await page.getByTestId('tab-access').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('relabel-disk').inputValue()).toBe(top);
    await page.locator('[data-testid="access-report"][data-uid="107"][data-ok="false"]').waitFor({ timeout: 20_000 });
    const row = page.locator(`[data-testid="plan-row"][data-path="${at('based', 'base.qcow2')}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-changes')).toBe('true');
    expect(await banner().count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it('in the forest, selecting a top gives its verdict; selecting its base gives none', async () => {
    await page.keyboard.press('Escape');
    await page.getByTestId('open-path').fill(at('based'));
    await page.getByTestId('open-path-go').click();
    await page.getByTestId('view-forest').click();
    const forestCard = (p: string) => page.locator(`[data-testid="forest-node"][data-path="${p}"]`);
    const top = at('based', 'vm.qcow2');
    await forestCard(top).waitFor({ timeout: 20_000 });
    await forestCard(top).click();
    const b = await verdictFor(top, 'blocked');
    expect(await b.locator('[data-testid="blocker"]').getAttribute('data-path')).toBe(at('based', 'base.qcow2'));
    await forestCard(at('based', 'base.qcow2')).click();
    await expect.poll(() => banner().count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
