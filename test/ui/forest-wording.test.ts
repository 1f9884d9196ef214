// The forest's words, badges and notices in Debian's chromium against `diskchain serve`, on a
// pool made by qemu-img: a backing loop is a badge and a `data-problems` code, a middle layer is
// no "base", "used by" counts tops, a lone raw file is "standalone"; copying a path puts it on the
// clipboard; info notices leave by themselves, errors stay, at most three show, none covers the
// details panel.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { SHOTS, launchChromium, rendererDir, startServe, type ServeProcess, closeAll, watchedPage } from './helpers.js';
import { stateDir } from '../support/state.js';

describe('forest wording, badges and notices', () => {
  let tmp: { dir: string; cleanup: () => void };
  let pool: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const p = (n: string) => path.join(pool, n);
  const node = (id: string): Locator => page.locator(`[data-testid="forest-node"][data-path="${id}"]`);
  const marked = async (mark: string) =>
    (
      await page
        .locator(`[data-testid="forest-node"][data-mark="${mark}"]`)
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!))
    ).sort();

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('diskchain-ui-wording-');
    pool = path.join(tmp.dir, 'pool');
    fs.mkdirSync(pool);
    const q = (...a: string[]) => qemuImg(pool, 'create', '-q', '-f', 'qcow2', ...a);
    q('-o', 'data_file=base.raw,data_file_raw=on', 'base.qcow2', '16M');
    q('-b', 'base.qcow2', '-F', 'qcow2', 'mid.qcow2');
    q('-b', 'mid.qcow2', '-F', 'qcow2', 'top1.qcow2');
    q('-b', 'mid.qcow2', '-F', 'qcow2', 'top2.qcow2');
    fs.writeFileSync(p('lonely.raw'), Buffer.alloc(4096));
    q('ring-b.qcow2', '16M');
    q('-b', 'ring-b.qcow2', '-F', 'qcow2', 'ring-a.qcow2');
    qemuImg(pool, 'rebase', '-u', '-b', 'ring-a.qcow2', '-F', 'qcow2', 'ring-b.qcow2');
    serve = await startServe(['--port', '0'], { DISKCHAIN_RENDERER_DIR: rendererDir(), DISKCHAIN_STATE_DIR: stateDir() });
    browser = await launchChromium();
    page = await watchedPage(browser, problems, { names: ['clipboard-read', 'clipboard-write'], origin: new URL(serve.url).origin });
  }, 60_000);

  afterAll(() => closeAll(browser, serve, tmp));

  it('a backing loop is a badge and a problem code on both its cards; "with a problem" finds them', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').fill(pool);
    await page.keyboard.press('Enter');
    await node(p('ring-a.qcow2')).waitFor({ timeout: 20_000 });
    for (const n of ['ring-a.qcow2', 'ring-b.qcow2']) {
      expect((await node(p(n)).getAttribute('data-problems'))!.split(' '), n).toContain('loop');
      expect(await node(p(n)).getByTestId('forest-loop').count(), n).toBe(1);
    }
    expect(await node(p('top1.qcow2')).getAttribute('data-problems')).toBe('');
    expect(await node(p('top1.qcow2')).getByTestId('forest-loop').count()).toBe(0);
    await page.getByTestId('filter-problem').selectOption('any');
    await expect.poll(() => marked('match')).toEqual([p('ring-a.qcow2'), p('ring-b.qcow2')]);
    await page.getByTestId('filter-problem').selectOption('');
    await page.screenshot({ path: path.join(SHOTS, 'forest-wording.png') });
  });

  it('the base is the bottom, a middle layer is a "layer", used-by counts tops, "standalone" not "orphan"', async () => {
    const role = (n: string) => node(p(n)).getByTestId('forest-role').textContent();
    expect(await role('base.qcow2')).toBe('base');
    expect(await role('mid.qcow2')).toBe('layer');
    expect(await role('top1.qcow2')).toBe('top');
    expect(await role('lonely.raw')).toBe('standalone');
    // base.qcow2 is named by mid only, yet two disks go through it.
    expect(await node(p('base.qcow2')).getByTestId('forest-size').textContent()).toContain('used by 2 tops');
    expect(await node(p('mid.qcow2')).getByTestId('forest-size').textContent()).toContain('used by 2 tops');
    expect(await node(p('base.qcow2')).getByTestId('forest-datamark').count()).toBe(1);
    expect(await node(p('mid.qcow2')).getByTestId('forest-datamark').count()).toBe(0);
    const visible = await page.getByTestId('forest').innerText();
    expect(visible.toLowerCase()).not.toContain('orphan');
    expect(await page.getByTestId('forest-summary').textContent()).toContain('1 standalone');
    await node(p('base.qcow2')).click();
    await expect.poll(() => page.getByTestId('forest-used-by').getAttribute('data-tops')).toBe('2');
    expect(await page.getByTestId('forest-used-by').textContent()).toContain('Used by 2 tops (through 1 middle layer)');
  });

  it('copies a real path; the info notice leaves by itself, clear of the details panel', async () => {
    await node(p('mid.qcow2')).click();
    const details = page.getByTestId('forest-details');
    await expect.poll(() => details.getByTestId('forest-details-path').textContent()).toBe(p('mid.qcow2'));
    await details.locator(`[data-testid="copy-path"][data-path="${p('mid.qcow2')}"]`).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(p('mid.qcow2'));
    const info = page.getByTestId('notice').filter({ hasText: `Copied ${p('mid.qcow2')}` });
    await info.waitFor();
    // The backing file's row copies the backing file.
    await details.locator(`[data-testid="copy-path"][data-path="${p('base.qcow2')}"]`).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(p('base.qcow2'));
    const a = (await info.boundingBox())!;
    const b = (await details.boundingBox())!;
    const overlaps = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    expect(overlaps).toBe(false);
    await expect.poll(() => page.getByTestId('notice').count(), { timeout: 12_000 }).toBe(0);
  });

  it('errors stay until dismissed; at most three show, older ones as "+N more"', async () => {
    for (let i = 0; i < 5; i++) {
      await page.getByTestId('open-path').fill(path.join(tmp.dir, `no-such-${i}.qcow2`));
      await page.keyboard.press('Enter');
      await page
        .getByTestId('error')
        .filter({ hasText: `no-such-${i}.qcow2` })
        .waitFor();
    }
    expect(await page.getByTestId('error').count()).toBe(3);
    expect(await page.getByTestId('notice-more').getAttribute('data-count')).toBe('2');
    // The newest three show.
    for (const i of [2, 3, 4])
      expect(
        await page
          .getByTestId('error')
          .filter({ hasText: `no-such-${i}.qcow2` })
          .count(),
      ).toBe(1);
    await page.waitForTimeout(7000); // longer than an info notice lives
    expect(await page.getByTestId('error').count()).toBe(3);
    await page.getByTestId('error').filter({ hasText: 'no-such-4.qcow2' }).getByRole('button', { name: 'dismiss' }).click();
    await expect.poll(() => page.getByTestId('notice-more').getAttribute('data-count')).toBe('1');
    expect(await page.getByTestId('error').count()).toBe(3);
    await page.getByTestId('notice-more').getByRole('button').click();
    await expect.poll(() => page.getByTestId('notice-more').count()).toBe(0);
    expect(await page.getByTestId('error').count()).toBe(3);
  }, 30_000);

  it('raised no script errors', () => {
    expect(problems).toEqual([]);
  });
});
