// One-click consent and what follows, in Debian's chromium against `diskchain serve` as root: a
// plan refused for files in folders that were not opened lists them (the refused files stay in
// the table) and allows exactly those; a system folder is never allowed. After Apply the panel
// shows what was done; after Undo the same action may be applied again; the history lists the
// journal's runs across a page reload and undoes an older one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { launchChromium, owner, rendererDir, snapshot, startServe, type ServeProcess, closeAll, watchedPage } from './helpers.js';

const SYSTEM_FILE = '/etc/hostname';

describe('consent to folders, what was done, the history', () => {
  let tmp: { dir: string; cleanup: () => void };
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const at = (...p: string[]) => path.join(tmp.dir, ...p);
  const top = () => at('vm', 'vm.qcow2');
  const data = () => at('outside', 'vm.data');
  const other = () => at('vm', 'other.qcow2');
  const otherData = () => at('elsewhere', 'other.data');
  const sys = () => at('vm', 'sys.qcow2');
  const row = (p: string): Locator => page.locator(`[data-testid="plan-row"][data-path="${p}"]`);
  const ready = () => page.locator('[data-testid="preview"][data-state="ready"]').waitFor({ timeout: 20_000 });
  const outsideListed = () => page.getByTestId('outside-folder').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')));
  const disk = async (p: string) => {
    await page.getByTestId('relabel-disk').selectOption(p);
    await ready();
  };
  const apply = async () => {
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
  };

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-consent-');
    for (const d of ['vm', 'outside', 'elsewhere']) fs.mkdirSync(at(d));
    qemuImg(at('vm'), 'create', '-q', '-f', 'qcow2', '-o', `data_file=${data()}`, top(), '8M');
    qemuImg(at('vm'), 'create', '-q', '-f', 'qcow2', '-o', `data_file=${otherData()}`, other(), '8M');
    // A header whose data file is a system file: made naming a scratch file, which then becomes
    // a link to it. qemu-img never opens the system file; diskchain only reads it.
    qemuImg(at('vm'), 'create', '-q', '-f', 'qcow2', '-o', `data_file=${at('vm', 'sys.data')}`, sys(), '1M');
    fs.rmSync(at('vm', 'sys.data'));
    fs.symlinkSync(SYSTEM_FILE, at('vm', 'sys.data'));
    serve = await startServe(['--port', '0', top(), other(), sys()], {
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
  });

  afterAll(() => closeAll(browser, serve, tmp));

  it('lists the folders not opened, keeps the refused file as a row, allows exactly those folders', async () => {
    await page.goto(serve.url);
    await page.locator(`[data-testid="chain-node"][data-path="${top()}"]`).waitFor({ timeout: 20_000 });
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.getByTestId('relabel-user').fill('+107');
    await page.getByTestId('relabel-group').fill('+107');
    await disk(top());
    await page.getByTestId('refusals').waitFor();
    expect(await row(data()).getAttribute('data-refused')).toBe('true');
    expect(await row(data()).textContent()).toContain('outside the allowed folders');
    expect(await row(top()).count()).toBe(1);
    expect(await outsideListed()).toEqual([at('outside')]);
    await page.getByTestId('allow-folders').click();
    await expect.poll(() => page.getByTestId('refusals').count(), { timeout: 20_000 }).toBe(0);
    await ready();
    expect(await page.getByTestId('plan-row').count()).toBe(2);
    expect(await row(data()).getAttribute('data-refused')).toBeNull();
    expect(await row(data()).getAttribute('data-changes')).toBe('true');
    // Only that folder: the other disk's data file, elsewhere, is still refused.
    await disk(other());
    expect(await row(otherData()).getAttribute('data-refused')).toBe('true');
    expect(await outsideListed()).toEqual([at('elsewhere')]);
  });

  it('never allows a system folder', async () => {
    const before = snapshot([SYSTEM_FILE]);
    await disk(sys());
    await page.getByTestId('refusals').waitFor();
    expect(await row(SYSTEM_FILE).getAttribute('data-refused')).toBe('true');
    expect(await outsideListed()).toEqual(['/etc']);
    await page.getByTestId('allow-folders').click();
    await ready();
    // Asked again, and still refused: /etc never counts as opened.
    await expect.poll(() => page.getByTestId('error').filter({ hasText: '/etc' }).count()).toBeGreaterThan(0);
    await page.getByTestId('refusals').waitFor();
    expect(await row(SYSTEM_FILE).getAttribute('data-refused')).toBe('true');
    expect(await page.getByTestId('apply').isDisabled()).toBe(true);
    expect(snapshot([SYSTEM_FILE])).toBe(before);
  });

  it('after Apply shows what was done; after Undo the same action may be applied again', async () => {
    await disk(top());
    await apply();
    expect(owner(top())).toBe('107:107');
    expect(owner(data())).toBe('107:107');
    await page.getByTestId('applied-heading').waitFor();
    expect(await page.getByTestId('applied-heading').textContent()).toMatch(/^Done/);
    for (const p of [top(), data()]) {
      expect(await row(p).getAttribute('data-done')).toBe('true');
      expect(await row(p).textContent()).toMatch(/owner .*0:0.* → .*107:107/);
    }
    expect(await page.getByTestId('preview').textContent()).not.toMatch(/refcount 1 → 2/);
    expect(await page.getByTestId('apply').isDisabled()).toBe(true);
    await page.getByTestId('undo').click();
    await expect.poll(() => owner(top())).toBe('0:0');
    await expect.poll(() => page.getByTestId('apply').isEnabled(), { timeout: 20_000 }).toBe(true);
    expect(await page.getByTestId('tab-access').getAttribute('aria-selected')).toBe('false');
    await apply();
    expect(owner(top())).toBe('107:107');
  });

  it('lists the runs across a page reload and undoes the older one', async () => {
    // A second run: the other disk, its folder allowed in one click.
    await disk(other());
    await page.getByTestId('allow-folders').click();
    await expect.poll(() => page.getByTestId('refusals').count(), { timeout: 20_000 }).toBe(0);
    await apply();
    expect(owner(otherData())).toBe('107:107');
    await page.reload();
    await page.locator(`[data-testid="chain-node"][data-path="${top()}"]`).waitFor({ timeout: 20_000 });
    await page.locator('[data-testid="history"] summary').click();
    const entries = page.getByTestId('history-entry');
    await expect.poll(() => entries.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(4);
    const live = page.locator('[data-testid="history-entry"]:has([data-testid="history-undo"])');
    // Newest first: the other disk's relabel, then this disk's second one (its first was undone).
    const tops = await live.evaluateAll((els) => els.map((e) => e.querySelector('[data-testid="history-top"]')?.textContent));
    expect(tops).toEqual([other(), top()]);
    expect(await entries.filter({ hasText: 'Undo of' }).count()).toBe(1);
    await live.nth(1).getByTestId('history-undo').click();
    await expect.poll(() => owner(top())).toBe('0:0');
    expect(owner(data())).toBe('0:0');
    expect(owner(other())).toBe('107:107');
    expect(owner(otherData())).toBe('107:107');
    await expect.poll(() => live.count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
