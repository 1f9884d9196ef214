// The forest view in Debian's chromium against `diskchain serve`, on a pool made by qemu-img:
// counts, filters, the selection's highlight, a collapsed fan, relabel from a top (checked on
// disk), the watcher following creates/deletes/rebases with only the changed file re-read, and a
// scan of the 11,000-file bench pool cancelled half-way. Screenshots go to test-results/ui/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { SHOTS, launchChromium, owner, rendererDir, setXattr, startServe, type ServeProcess } from './helpers.js';
import { stateDir } from '../support/state.js';
import { makeCorpus } from '../../bench/make-corpus.js';

const SVIRT = 'system_u:object_r:svirt_image_t:s0:c1,c2';

describe('the forest of a scanned folder', () => {
  let tmp: { dir: string; cleanup: () => void };
  let pool: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const p = (n: string) => path.join(pool, n);
  const node = (id: string): Locator => page.locator(`[data-testid="forest-node"][data-path="${id}"]`);
  const nodes = () => page.getByTestId('forest-node');
  const count = (attr: string) => page.getByTestId('forest-count').getAttribute(attr).then(Number);
  const marked = async (mark: string) =>
    (
      await page
        .locator(`[data-testid="forest-node"][data-mark="${mark}"]`)
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!))
    ).sort();
  const status = async () => {
    const s = page.getByTestId('forest-status');
    return {
      reads: Number(await s.getAttribute('data-reads')),
      updates: Number(await s.getAttribute('data-updates')),
      reread: (await s.getAttribute('data-reread'))!.split('\n').filter(Boolean),
    };
  };
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `forest-${name}.png`) });

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('diskchain-ui-forest-');
    pool = path.join(tmp.dir, 'pool');
    fs.mkdirSync(pool);
    const q = (...a: string[]) => qemuImg(pool, 'create', '-q', '-f', 'qcow2', ...a);
    q('-o', 'data_file=a.raw,data_file_raw=on', 'baseA.qcow2', '16M');
    q('-o', 'data_file=b.raw,data_file_raw=on', 'baseB.qcow2', '16M');
    q('baseF.qcow2', '16M');
    for (const vm of ['vmA1', 'vmA2', 'vmA3']) q('-b', 'baseA.qcow2', '-F', 'qcow2', `${vm}.qcow2`);
    q('-b', 'baseB.qcow2', '-F', 'qcow2', 'vmB1.qcow2');
    for (let i = 0; i < 10; i++) q('-b', 'baseF.qcow2', '-F', 'qcow2', `f0${i}.qcow2`);
    q('-u', '-b', 'gone.qcow2', '-F', 'qcow2', 'broken.qcow2', '16M');
    fs.writeFileSync(p('orphan.raw'), Buffer.alloc(4096));
    fs.chownSync(p('vmB1.qcow2'), 107, 107);
    setXattr(p('vmA2.qcow2'), 'security.selinux', SVIRT);
    serve = await startServe(['--port', '0'], { DISKCHAIN_RENDERER_DIR: rendererDir(), DISKCHAIN_STATE_DIR: stateDir() });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    tmp?.cleanup();
  });

  it('opens the folder as a forest: every tree, the right kinds and counts', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').fill(pool);
    await page.keyboard.press('Enter');
    await expect.poll(() => nodes().count(), { timeout: 20_000 }).toBe(18);
    expect(await count('data-trees')).toBe(5);
    expect(await count('data-files')).toBe(21);
    const sum = page.getByTestId('forest-summary');
    expect(await sum.getAttribute('data-tops')).toBe('15');
    expect(await sum.getAttribute('data-shared')).toBe('2');
    expect(await sum.getAttribute('data-data')).toBe('2');
    expect(await sum.getAttribute('data-orphans')).toBe('1');
    expect(await sum.getAttribute('data-broken')).toBe('1');
    const kinds: Record<string, string> = {
      [p('baseA.qcow2')]: 'base',
      [p('a.raw')]: 'data',
      [p('vmA1.qcow2')]: 'image',
      [p('baseF.qcow2')]: 'base',
      [p('orphan.raw')]: 'orphan',
      [`missing:${p('broken.qcow2')}`]: 'missing',
      [p('broken.qcow2')]: 'image',
      [`more:${p('baseF.qcow2')}`]: 'more',
    };
    for (const [id, kind] of Object.entries(kinds)) expect(await node(id).getAttribute('data-kind'), id).toBe(kind);
    expect(await node(`more:${p('baseF.qcow2')}`).textContent()).toBe('+5 more');
    expect(await node(p('vmB1.qcow2')).getByTestId('forest-owner').textContent()).toMatch(/\(107:107\)$/);
    // Each data file right under its image; users to the right of their base.
    const box = async (id: string) => (await node(id).boundingBox())!;
    expect((await box(p('a.raw'))).y).toBeGreaterThan((await box(p('baseA.qcow2'))).y);
    expect((await box(p('a.raw'))).x).toBeCloseTo((await box(p('baseA.qcow2'))).x, 0);
    expect((await box(p('vmA1.qcow2'))).x).toBeGreaterThan((await box(p('baseA.qcow2'))).x);
    expect(await node(p('vmA1.qcow2')).getByTestId('forest-size').textContent()).toMatch(/chain \d/);
    await shot('light');
  });

  it('filters by name, owner, context and problem', async () => {
    // Typing is debounced: every check below waits for the forest to follow.
    const filter = async (field: string, value: string) => {
      if (field === 'problem') await page.getByTestId('filter-problem').selectOption(value);
      else await page.getByTestId(`filter-${field}`).fill(value);
    };
    await filter('name', 'vmA');
    await expect.poll(() => count('data-trees')).toBe(1);
    await expect.poll(() => count('data-matches')).toBe(3);
    await expect.poll(() => marked('match')).toEqual([p('vmA1.qcow2'), p('vmA2.qcow2'), p('vmA3.qcow2')]);
    await filter('name', 'f07');
    await expect.poll(() => count('data-trees')).toBe(1);
    await node(p('f07.qcow2')).waitFor(); // pulled out of the collapsed fan
    await filter('name', '');
    await filter('owner', '107');
    await expect.poll(() => count('data-trees')).toBe(1);
    await expect.poll(() => marked('match')).toEqual([p('vmB1.qcow2')]);
    await filter('owner', '');
    await filter('context', 'svirt_image_t');
    await expect.poll(() => count('data-trees')).toBe(1);
    await expect.poll(() => marked('match')).toEqual([p('vmA2.qcow2')]);
    await filter('context', '');
    await filter('problem', 'missing');
    await expect.poll(() => count('data-trees')).toBe(1);
    await expect.poll(() => marked('match')).toEqual([p('broken.qcow2')]);
    await filter('problem', 'orphan');
    await expect.poll(() => count('data-matches')).toBe(1);
    await expect.poll(() => marked('match')).toEqual([p('orphan.raw')]);
    await filter('problem', '');
    await expect.poll(() => count('data-trees')).toBe(5);
  });

  it('selecting a base lights up exactly the images that use it; a fan expands', async () => {
    await node(p('baseA.qcow2')).click();
    await expect.poll(() => marked('user')).toEqual([p('vmA1.qcow2'), p('vmA2.qcow2'), p('vmA3.qcow2')]);
    expect(await marked('selected')).toEqual([p('baseA.qcow2')]);
    expect(await page.getByTestId('forest-users').locator('li').count()).toBe(3);
    await node(p('baseF.qcow2')).click();
    const shownF = [0, 1, 2, 3, 4].map((i) => p(`f0${i}.qcow2`));
    await expect.poll(() => marked('user')).toEqual([...shownF, `more:${p('baseF.qcow2')}`].sort());
    expect(await node(`more:${p('baseF.qcow2')}`).textContent()).toContain('(5 highlighted)');
    await node(`more:${p('baseF.qcow2')}`).click();
    await expect.poll(() => nodes().count()).toBe(22);
    await expect.poll(() => marked('user')).toEqual([...Array(10).keys()].map((i) => p(`f0${i}.qcow2`)));
    expect(await node(`more:${p('baseF.qcow2')}`).count()).toBe(0);
    await shot('fan-expanded');
    // The keyboard walks the cards: right from the base to one of its users, left back.
    await node(p('baseA.qcow2')).click();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => marked('selected')).toEqual([expect.stringMatching(/vmA\d\.qcow2$/)]);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => marked('selected')).toEqual([p('baseA.qcow2')]);
  });

  it('relabels from a top in the forest: the files change on disk and the forest follows', async () => {
    await node(p('vmA1.qcow2')).click();
    await page.getByTestId('relabel').click();
    expect(await page.getByTestId('relabel-disk').inputValue()).toBe(p('vmA1.qcow2'));
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.getByTestId('relabel-user').fill('+108');
    await page.getByTestId('relabel-group').fill('+108');
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    expect(await page.getByTestId('plan-row').count()).toBe(3);
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
    for (const f of ['vmA1.qcow2', 'baseA.qcow2', 'a.raw']) expect(owner(p(f)), f).toBe('108:108');
    expect(owner(p('vmA2.qcow2'))).toBe('0:0');
    await expect.poll(() => node(p('vmA1.qcow2')).getByTestId('forest-owner').textContent(), { timeout: 10_000 }).toMatch(/\(108:108\)$/);
    await expect.poll(() => node(p('baseA.qcow2')).getByTestId('forest-owner').textContent()).toMatch(/\(108:108\)$/);
    await page.keyboard.press('Escape');
  });

  it('follows changes on disk, reading only the changed file again', async () => {
    /** Let trailing events of the last step settle, then note the counters. */
    const settled = async () => {
      let last = await status();
      for (;;) {
        await page.waitForTimeout(400);
        const now = await status();
        if (now.updates === last.updates) return now;
        last = now;
      }
    };
    let before = await settled();
    qemuImg(pool, 'create', '-q', '-f', 'qcow2', '-b', 'baseA.qcow2', '-F', 'qcow2', 'vmA4.qcow2');
    await node(p('vmA4.qcow2')).waitFor({ timeout: 10_000 });
    let after = await settled();
    expect(new Set(after.reread)).toEqual(new Set([p('vmA4.qcow2')]));
    expect(after.reads - before.reads).toBeGreaterThanOrEqual(1);
    expect(after.reads - before.reads).toBeLessThanOrEqual(3); // a rescan would read 22 files
    await expect.poll(() => count('data-files')).toBe(22);

    before = after;
    fs.rmSync(p('vmA3.qcow2'));
    await expect.poll(() => node(p('vmA3.qcow2')).count(), { timeout: 10_000 }).toBe(0);
    after = await settled();
    expect(after.reread).toEqual([]); // a deleted file has nothing to read
    expect(after.reads - before.reads).toBeLessThanOrEqual(2);

    before = after;
    qemuImg(pool, 'rebase', '-u', '-b', 'baseB.qcow2', '-F', 'qcow2', 'vmA2.qcow2');
    await node(p('baseB.qcow2')).click();
    await expect.poll(() => marked('user'), { timeout: 10_000 }).toEqual([p('vmA2.qcow2'), p('vmB1.qcow2')]);
    after = await settled();
    expect(new Set(after.reread)).toEqual(new Set([p('vmA2.qcow2')]));
    expect(after.reads - before.reads).toBeLessThanOrEqual(3);
    await node(p('baseA.qcow2')).click();
    await expect.poll(() => marked('user')).toEqual([p('vmA1.qcow2'), p('vmA4.qcow2')]);
    await shot('after-changes');
  });

  it('double-clicking a top opens its chain graph; the view switch comes back', async () => {
    await node(p('vmB1.qcow2')).dblclick();
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 10_000 }).toBe(3);
    expect(await page.locator(`[data-testid="chain-node"][data-path="${p('b.raw')}"]`).count()).toBe(1);
    await page.getByTestId('view-forest').click();
    await expect.poll(() => nodes().count()).toBeGreaterThan(10);
    await page.getByTestId('theme').click();
    await node(p('baseA.qcow2')).click();
    await shot('dark');
    await page.getByTestId('theme').click();
  });

  it("shows a scan's progress and Cancel really stops it (the 11,000-file bench pool)", async () => {
    const out = path.join(tmp.dir, 'bench');
    makeCorpus(out, { files: 11_000, deep: false });
    await page.getByTestId('open-path').fill(path.join(out, 'pool'));
    await page.keyboard.press('Enter');
    await page.getByTestId('scan-progress').waitFor();
    await expect.poll(() => page.getByTestId('scan-cancel').isEnabled()).toBe(true);
    await shot('scanning');
    await page.getByTestId('scan-cancel').click();
    const notice = page.getByTestId('notice').filter({ hasText: 'Scan cancelled' });
    await notice.waitFor({ timeout: 20_000 });
    const [, done, total] = /after (\d+) of (\d+) files/.exec((await notice.textContent())!)!.map(Number);
    expect(total).toBeGreaterThanOrEqual(11_000);
    expect(done).toBeLessThan(total!);
    await expect.poll(() => page.getByTestId('scan-progress').count()).toBe(0);
    // The forest shown before is still there, and the worker answers again.
    expect(await count('data-trees')).toBe(5);
    await node(p('vmB1.qcow2')).click();
    await page.getByTestId('relabel').click();
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
  });

  it('raised no script errors', () => {
    expect(problems).toEqual([]);
  });
});
