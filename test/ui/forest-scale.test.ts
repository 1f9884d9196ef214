// The forest at a few thousand files, in Debian's chromium against `diskchain serve`: the scan's
// trees arrive in batches while the worker still reads, and the first are painted before it ends;
// closing the forest blocks the main thread briefly (it cost seconds when React Flow held
// every card); a pan changes which cards the canvas holds, not how many.
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCorpus } from '../../bench/make-corpus.js';
import { closeForest } from '../../bench/ui.js';
import { tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { closeAll, launchChromium, rendererDir, startServe, watchedPage, type ServeProcess } from './helpers.js';

const FILES = 5500;
/**
 * What closing may block the main thread for: the goal is 100 ms at 110,000 files (bench/ui.ts),
 * scaled by 2 because these tests run React's development build (vitest sets NODE_ENV), which is
 * slower. Before the canvas held only the cards near the screen, this took over 2 s here.
 */
const CLOSE_MS = 200;

describe('the forest at 5,500 files', () => {
  let tmp: { dir: string; cleanup: () => void };
  let pool: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const cards = () => page.getByTestId('forest-node').count();

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-forest-scale-');
    pool = makeCorpus(path.join(tmp.dir, 'corpus'), { files: FILES, deep: false }).pool;
    serve = await startServe(['--port', '0'], { DISKCHAIN_RENDERER_DIR: rendererDir(), DISKCHAIN_STATE_DIR: stateDir() });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  }, 120_000);

  afterAll(() => closeAll(browser, serve, tmp));

  it('paints the first trees while the scan is still running', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').fill(pool);
    const t = await page.evaluate(
      () =>
        new Promise<{ cards: number; scanEnded: number; filesAtFirst: number; readAtFirst: number[] }>((resolve, reject) => {
          let cards = -1;
          let filesAtFirst = -1;
          // The worker's reads as shown ("N of M files") until the first card: they must not have ended.
          const readAtFirst: number[] = [];
          const timer = setTimeout(() => reject(new Error('the scan did not end in 90 s')), 90_000);
          const seen = new MutationObserver(() => {
            const read = /^(\d+) of (\d+) files$/.exec(document.querySelector('[data-testid="scan-count"]')?.textContent ?? '');
            if (cards < 0 && read) readAtFirst.push(Number(read[1]) / Number(read[2]));
            if (cards < 0 && document.querySelector('[data-testid="forest-node"]')) {
              cards = performance.now();
              // Still scanning: the progress bar is up and the forest holds part of the pool.
              filesAtFirst = document.querySelector('[data-testid="scan-progress"]')
                ? Number(document.querySelector('[data-testid="forest-count"]')?.getAttribute('data-files') ?? -1)
                : -1;
            }
            if (cards >= 0 && !document.querySelector('[data-testid="scan-progress"]')) {
              seen.disconnect();
              clearTimeout(timer);
              resolve({ cards, scanEnded: performance.now(), filesAtFirst, readAtFirst });
            }
          });
          seen.observe(document.body, { childList: true, subtree: true, attributes: true, characterData: true });
          document.querySelector<HTMLButtonElement>('[data-testid="open-path-go"]')!.click();
        }),
    );
    expect(t.cards).toBeLessThan(t.scanEnded);
    expect(t.filesAtFirst).toBeGreaterThan(0);
    expect(t.filesAtFirst).toBeLessThan(FILES);
    // Painted while the worker still read: its trees streamed, not cut from its answer.
    expect(t.readAtFirst.length).toBeGreaterThan(0);
    expect(Math.max(...t.readAtFirst)).toBeLessThan(1);
    await expect.poll(() => page.getByTestId('forest-count').getAttribute('data-files')).toBe(String(FILES));
  }, 120_000);

  it('holds only the cards near the screen, and a pan keeps it so', async () => {
    const before = await cards();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(500);
    const c = (await page.locator('.forest-canvas').boundingBox())!;
    await page.mouse.move(c.x + c.width - 20, c.y + c.height - 20);
    await page.mouse.down();
    await page.mouse.move(c.x + 20, c.y + 20, { steps: 10 });
    await page.mouse.up();
    expect(await cards()).toBeLessThan(500);
  });

  it(`closes the forest blocking the main thread for less than ${CLOSE_MS} ms`, async () => {
    // The longest task from the click until the forest is gone, as the bench measures it.
    const blocked = await closeForest(page);
    await page.getByTestId('forest').waitFor({ state: 'detached' });
    expect(blocked).toBeLessThan(CLOSE_MS);
    expect(problems).toEqual([]);
  });
});
