// The relabel form says what is wrong with a user, group or image label right under that field,
// not in the preview; a plain uid (what chown users type) is a user.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { launchChromium, makeChain, rendererDir, snapshot, startServe, type Chain, type ServeProcess } from './helpers.js';
import { stateDir } from '../support/state.js';

describe('the relabel form checks each field where it is typed', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;

  /** The field's error sits right under its input, inside the same label. */
  const errorUnder = async (input: string) => {
    const error = page.getByTestId(`${input}-error`);
    await error.waitFor();
    const field = page.getByTestId(input);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await field.getAttribute('aria-describedby')).toBe(`${input}-error`);
    const [f, e] = [(await field.boundingBox())!, (await error.boundingBox())!];
    expect(e.y).toBeGreaterThanOrEqual(f.y + f.height - 1);
    expect(e.y - (f.y + f.height)).toBeLessThan(20);
    expect(Math.abs(e.x - f.x)).toBeLessThan(20);
    expect(await page.getByTestId('preview').getByTestId(`${input}-error`).count()).toBe(0);
    expect(await page.getByTestId('plan-error').count()).toBe(0);
    return (await error.textContent()) ?? '';
  };

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-fields-');
    fs.mkdirSync(path.join(tmp.dir, 'vm'));
    chain = makeChain(path.join(tmp.dir, 'vm'));
    serve = await startServe(['--port', '0', chain.top], {
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    tmp?.cleanup();
  });

  it('a bad user, group or label is named under its field; fixing it brings the preview back', async () => {
    const before = snapshot(chain.all);
    await page.goto(serve.url);
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 20_000 }).toBe(6);
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-driver').selectOption('dac,selinux');
    await page.getByTestId('relabel-user').fill('9qemu');
    await page.getByTestId('relabel-group').fill('qemu@x');
    await page.getByTestId('relabel-label').fill('system_u:object_r:svirt_image_t');

    expect(await errorUnder('relabel-user')).toMatch(/name or \+N/);
    expect(await errorUnder('relabel-group')).toMatch(/name or \+N/);
    expect(await errorUnder('relabel-label')).toMatch(/user:role:type:level/);
    await page.locator('[data-testid="preview"][data-state="error"]').waitFor();
    expect(await page.getByTestId('plan-row').count()).toBe(0);
    expect(await page.getByTestId('apply').isEnabled()).toBe(false);

    // A plain uid and gid, and the label with its level: every error goes, the preview comes.
    await page.getByTestId('relabel-user').fill('107');
    await page.getByTestId('relabel-group').fill('+107');
    await page.getByTestId('relabel-label').fill('system_u:object_r:svirt_image_t:s0:c1,c2');
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    for (const id of ['relabel-user', 'relabel-group', 'relabel-label']) {
      expect(await page.getByTestId(`${id}-error`).count()).toBe(0);
      expect(await page.getByTestId(id).getAttribute('aria-invalid')).toBeNull();
    }
    expect(await page.getByTestId('plan-error').count()).toBe(0);
    expect(await page.getByTestId('plan-row').count()).toBe(6);
    expect(await page.locator(`[data-testid="plan-row"][data-path="${chain.top}"]`).textContent()).toMatch(/→ .*107:107/);
    expect(snapshot(chain.all)).toBe(before);
  });
});
