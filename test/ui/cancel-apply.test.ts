// Cancel while a relabel is being applied, in Debian's chromium against `diskchain serve` as
// root: the helper holds before its second file until the cancel comes (DISKCHAIN_TEST_HOLD_AT), so
// the click lands mid-way however loaded the machine, and every file of the chain is left exactly as before, owner, mode and xattrs.
import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import {
  closeAll,
  launchChromium,
  makeChain,
  rendererDir,
  snapshot,
  startServe,
  watchedPage,
  type Chain,
  type ServeProcess,
} from './helpers.js';

describe('Cancel during apply', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-cancel-');
    chain = makeChain(tmp.dir);
    serve = await startServe(['--port', '0', chain.top], {
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
      // A fixed pause lost the race on a loaded CI machine: the run ended before the cancel came.
      DISKCHAIN_TEST_HOLD_AT: '1',
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
  });

  afterAll(() => closeAll(browser, serve, tmp));

  it('puts every file back as it was', async () => {
    const before = snapshot(chain.all);
    await page.goto(serve.url);
    await page.locator(`[data-testid="chain-node"][data-path="${chain.top}"]`).waitFor({ timeout: 20_000 });
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.getByTestId('relabel-user').fill('+107');
    await page.getByTestId('relabel-group').fill('+107');
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    // Cancelled after the first file changed, while the others wait their turn.
    await expect.poll(() => page.getByTestId('progress').getAttribute('value'), { timeout: 20_000 }).not.toBe('0');
    expect(snapshot(chain.all)).not.toBe(before);
    await page.getByTestId('cancel-apply').click();
    await page.getByTestId('apply-error').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('apply-error').textContent()).toMatch(/put back/);
    expect(snapshot(chain.all)).toBe(before);
    expect(fs.existsSync(chain.top)).toBe(true);
    expect(problems).toEqual([]);
  }, 120_000);
});
