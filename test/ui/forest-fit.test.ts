// Filtering the forest re-frames it, in Debian's chromium against `diskchain serve`: after the
// filter applies, and on Fit View, every matching card is on screen at a readable zoom; without a
// filter Fit View frames every card. The pool: four deep chains (a wide forest, framed small) and
// a small tree packed last, far from where the view opens.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { closeAll, launchChromium, rendererDir, startServe, watchedPage, type ServeProcess } from './helpers.js';

/** Below this, cards are drawn as names only: a fit that ends lower has not made them readable. */
const READABLE = 0.8;
const FAR = ['zz-far-base.qcow2', 'zz-far-1.qcow2', 'zz-far-2.qcow2', 'zz-far-3.qcow2'];

describe('the forest frames what the filter keeps', () => {
  let tmp: { dir: string; cleanup: () => void };
  let pool: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const canvas = () => page.locator('.forest-canvas');
  const zoom = () =>
    page
      .locator('.forest .react-flow__viewport')
      .evaluate((el) => new DOMMatrix(getComputedStyle(el).transform).a)
      .then(Number);
  /** The cards among `ids` that are not wholly inside the canvas (absent ones count). */
  const offScreen = (ids: string[]) =>
    page.evaluate((want) => {
      const c = document.querySelector('.forest-canvas')!.getBoundingClientRect();
      return want.filter((id) => {
        const el = [...document.querySelectorAll('[data-testid="forest-node"]')].find((e) => e.getAttribute('data-path') === id);
        const b = el?.getBoundingClientRect();
        return !b || b.left < c.left - 1 || b.top < c.top - 1 || b.right > c.right + 1 || b.bottom > c.bottom + 1;
      });
    }, ids);
  /** Drag the canvas far to the left and up: what was framed is then off screen. */
  const panAway = async () => {
    const c = (await canvas().boundingBox())!;
    await page.mouse.move(c.x + c.width - 20, c.y + c.height - 20);
    await page.mouse.down();
    await page.mouse.move(c.x + 20, c.y + 20, { steps: 8 });
    await page.mouse.up();
  };
  const fitButton = () => page.getByTestId('forest-fit-view');

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-forest-fit-');
    pool = path.join(tmp.dir, 'pool');
    fs.mkdirSync(pool);
    const q = (...a: string[]) => qemuImg(pool, 'create', '-q', '-f', 'qcow2', ...a);
    for (const t of ['a', 'b', 'c', 'd']) {
      q(`${t}-0.qcow2`, '16M');
      for (let i = 1; i < 9; i++) q('-b', `${t}-${i - 1}.qcow2`, '-F', 'qcow2', `${t}-${i}.qcow2`);
    }
    q(FAR[0]!, '16M');
    for (const f of FAR.slice(1)) q('-b', FAR[0]!, '-F', 'qcow2', f);
    serve = await startServe(['--port', '0'], { DISKCHAIN_RENDERER_DIR: rendererDir(), DISKCHAIN_STATE_DIR: stateDir() });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
  }, 60_000);

  afterAll(() => closeAll(browser, serve, tmp));

  it('fits the matching cards after the filter applies, and on Fit View', async () => {
    const far = FAR.map((f) => path.join(pool, f));
    await page.goto(serve.url);
    await page.getByTestId('open-path').fill(pool);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('forest-count').getAttribute('data-files'), { timeout: 20_000 }).toBe('40');
    // The whole wide forest is framed small: a fit has something to do.
    await expect.poll(zoom).toBeLessThan(READABLE);
    await panAway();
    await expect.poll(() => offScreen(far).then((o) => o.length)).toBeGreaterThan(0);

    await page.getByTestId('filter-name').fill('zz-far');
    await expect.poll(() => page.getByTestId('forest-count').getAttribute('data-matches')).toBe('4');
    await expect.poll(() => offScreen(far)).toEqual([]);
    expect(await zoom()).toBeGreaterThanOrEqual(READABLE);
    expect(await zoom()).toBeLessThanOrEqual(1); // never blown up beyond life size

    await panAway();
    await expect.poll(() => offScreen(far).then((o) => o.length)).toBeGreaterThan(0);
    await fitButton().click();
    await expect.poll(() => offScreen(far)).toEqual([]);
    expect(await zoom()).toBeGreaterThanOrEqual(READABLE);
  });

  it('without a filter, Fit View frames every card', async () => {
    await page.getByTestId('filter-name').fill('');
    await expect.poll(() => page.getByTestId('forest-count').getAttribute('data-trees')).toBe('5');
    await panAway();
    await fitButton().click();
    const all = fs.readdirSync(pool).map((f) => path.join(pool, f));
    await expect.poll(() => offScreen(all)).toEqual([]);
  });

  it('raised no script errors', () => {
    expect(problems).toEqual([]);
  });
});
