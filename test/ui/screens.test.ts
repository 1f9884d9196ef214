// Screenshots of every main view at 1280×800 and 1920×1080 in both themes (for the usability
// review), and at each size the toolbar, the sidebar, the canvas and the details panel never
// cover one another.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { SHOTS, closeAll, makeChain, type Chain, type ServeProcess, serveForVm107 } from './helpers.js';
import { openDomainOf } from './open-domain.js';

const SIZES = [
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
] as const;
const THEMES = ['light', 'dark'] as const;
const PANELS = { toolbar: 'header.toolbar', sidebar: 'nav.sidebar', canvas: 'main.canvas', details: 'aside.details, aside.relabel' };
const OUT = path.join(SHOTS, 'screens');

interface Box {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The pairs among `boxes` that share more than a hairline (touching edges are fine). */
function overlaps(boxes: Box[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
      const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
      if (w > 1 && h > 1) out.push(`${a.name}/${b.name} (${Math.round(w)}×${Math.round(h)})`);
    }
  return out;
}

describe('screens of every main view', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let pool: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const setTheme = async (theme: string) => {
    if ((await page.evaluate(() => document.documentElement.dataset.theme)) === theme) return;
    // Not a mouse click: an open dialog's backdrop would take it (and close the dialog).
    await page.getByTestId('theme').dispatchEvent('click');
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
  };
  /** The panels on screen now, as boxes (a panel not rendered or not visible is left out). */
  const panelBoxes = async (): Promise<Box[]> => {
    const boxes: Box[] = [];
    for (const [name, selector] of Object.entries(PANELS)) {
      const loc = page.locator(selector);
      if ((await loc.count()) === 0) continue;
      const b = await loc.first().boundingBox();
      if (b && b.width > 0 && b.height > 0) boxes.push({ name, ...b });
    }
    return boxes;
  };
  /** `view` at each size and theme to test-results/ui/screens, and no two panels overlapping at either size. */
  const shoot = async (view: string, expected: (keyof typeof PANELS)[]) => {
    const found: Record<string, string[]> = {};
    for (const size of SIZES) {
      await page.setViewportSize(size);
      const boxes = await panelBoxes();
      for (const name of expected)
        expect(
          boxes.map((b) => b.name),
          `${view} at ${size.width}×${size.height}`,
        ).toContain(name);
      found[`${size.width}x${size.height}`] = overlaps(boxes);
      for (const theme of THEMES) {
        await setTheme(theme);
        await page.screenshot({ path: path.join(OUT, `${view}-${size.width}x${size.height}-${theme}.png`) });
      }
    }
    expect(found, view).toEqual({ '1280x800': [], '1920x1080': [] });
    for (const size of SIZES)
      for (const theme of THEMES) expect(fs.existsSync(path.join(OUT, `${view}-${size.width}x${size.height}-${theme}.png`))).toBe(true);
  };
  const openPath = async (p: string) => {
    await page.getByTestId('open-path').fill(p);
    await page.keyboard.press('Enter');
  };

  beforeAll(async () => {
    fs.mkdirSync(OUT, { recursive: true });
    tmp = tempDir('diskchain-ui-screens-');
    fs.chmodSync(tmp.dir, 0o755);
    // A base only root may read (0600 root:root): the VM's user is refused it, so the banner has a verdict to show.
    chain = makeChain(tmp.dir);
    fs.chmodSync(chain.base, 0o600);
    pool = path.join(tmp.dir, 'pool');
    fs.mkdirSync(pool);
    makeChain(pool, 'p-');
    ({ serve, browser, page } = await serveForVm107(tmp.dir, problems));
    await page.emulateMedia({ colorScheme: 'light' });
  }, 120_000);

  afterAll(() => closeAll(browser, serve, tmp));

  it('the empty start', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').waitFor();
    await shoot('empty', ['toolbar', 'sidebar', 'canvas']);
  }, 60_000);

  it('a chain in the graph with the access verdict', async () => {
    await openPath(chain.top);
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 20_000 }).toBe(6);
    await page.locator(`[data-testid="access-verdict"][data-top="${chain.top}"][aria-busy="false"]`).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('verdict-text').textContent()).toMatch(/\(107:107\) cannot open/);
    await page.locator(`[data-testid="chain-node"][data-path="${chain.top}"]`).click();
    await shoot('graph', ['toolbar', 'sidebar', 'canvas', 'details']);
  }, 60_000);

  it('the relabel panel, and its Access tab', async () => {
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-panel').waitFor();
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor({ timeout: 20_000 });
    await shoot('relabel', ['toolbar', 'sidebar', 'canvas', 'details']);
    await page.getByTestId('tab-access').click();
    await page.locator('[data-testid="access-report"][data-uid="107"]').waitFor({ timeout: 20_000 });
    await shoot('relabel-access', ['toolbar', 'sidebar', 'canvas', 'details']);
    await page.keyboard.press('Escape');
    await page.getByTestId('relabel-panel').waitFor({ state: 'detached' });
  }, 60_000);

  it('the Explain-an-error dialog', async () => {
    await page.getByTestId('explain').click();
    await page.getByTestId('explain-dialog').waitFor();
    await shoot('explain', ['toolbar', 'sidebar', 'canvas', 'details']);
    await page.keyboard.press('Escape');
    await page.getByTestId('explain-dialog').waitFor({ state: 'detached' });
  }, 60_000);

  it('the legend', async () => {
    await page.getByTestId('legend-toggle').click();
    await page.getByTestId('legend').waitFor();
    await shoot('legend', ['toolbar', 'sidebar', 'canvas', 'details']);
    await page.getByTestId('legend-toggle').click();
  }, 60_000);

  it('the list of keyboard shortcuts', async () => {
    await page.getByTestId('open-domain').focus();
    await page.keyboard.press('?');
    await page.getByTestId('shortcuts').waitFor();
    await shoot('shortcuts', ['toolbar', 'sidebar', 'canvas', 'details']);
    await page.keyboard.press('Escape');
    await page.getByTestId('shortcuts').waitFor({ state: 'detached' });
  }, 60_000);

  it('the history list', async () => {
    await page.locator('[data-testid="history"] > summary').click();
    await expect.poll(() => page.getByTestId('history').evaluate((e) => (e as HTMLDetailsElement).open)).toBe(true);
    await shoot('history', ['toolbar', 'sidebar', 'canvas', 'details']);
    await page.locator('[data-testid="history"] > summary').click();
  }, 60_000);

  it('the domain view', async () => {
    await openDomainOf(page, chain);
    await shoot('domain', ['toolbar', 'sidebar', 'canvas']);
    await page.getByTestId('view-domain').click();
  }, 60_000);

  it('the forest of a scanned folder', async () => {
    await openPath(pool);
    await page.getByTestId('forest-node').first().waitFor({ timeout: 20_000 });
    await shoot('forest', ['toolbar', 'sidebar', 'canvas', 'details']);
    expect(problems).toEqual([]);
  }, 60_000);
});
