// Internal snapshots in the app (Debian's chromium against `diskchain serve`): a qcow2 with two
// snapshots made by qemu-img shows a count on its graph card, a table in the details panel with
// qemu-img's ids and names, and a mark on its forest card.
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { SHOTS, closeAll, launchChromium, rendererDir, startServe, watchedPage, type ServeProcess } from './helpers.js';

describe('internal snapshots', () => {
  let tmp: { dir: string; cleanup: () => void };
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let img: string;

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-snapshots-');
    img = path.join(tmp.dir, 'db01.qcow2');
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', img, '8M');
    qemuImg(tmp.dir, 'snapshot', '-c', 'before-upgrade', img);
    qemuImg(tmp.dir, 'snapshot', '-c', 'after upgrade', img);
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', path.join(tmp.dir, 'plain.qcow2'), '8M');
    serve = await startServe(['--port', '0'], { DISKCHAIN_RENDERER_DIR: rendererDir(), DISKCHAIN_STATE_DIR: stateDir() });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
  });

  afterAll(() => closeAll(browser, serve, tmp));

  it('the graph card counts them and the details panel lists them as qemu-img does', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').fill(img);
    await page.getByTestId('open-path-go').click();
    const card = page.locator(`[data-testid="chain-node"][data-path="${img}"]`);
    await card.waitFor({ timeout: 20_000 });
    expect(await card.getByTestId('snapshot-badge').textContent()).toBe('2 snapshots');
    await card.click();
    const rows = page.getByTestId('snapshot-row');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(0).locator('td').nth(1).textContent()).toBe('before-upgrade');
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe('after upgrade');
    expect(await rows.nth(0).locator('td').nth(0).textContent()).toBe('1');
    await page.screenshot({ path: path.join(SHOTS, 'snapshots.png') });
  });

  it('the forest marks the image with snapshots, not the one without', async () => {
    await page.getByTestId('open-path').fill(tmp.dir);
    await page.getByTestId('open-path-go').click();
    await page.getByTestId('view-forest').click();
    const forestCard = (p: string) => page.locator(`[data-testid="forest-node"][data-path="${p}"]`);
    await forestCard(img).waitFor({ timeout: 20_000 });
    expect(await forestCard(img).getByTestId('forest-snapshots').textContent()).toBe('2 snap');
    expect(await forestCard(path.join(tmp.dir, 'plain.qcow2')).getByTestId('forest-snapshots').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
