// The chain graph stays readable at any size: a 20-level chain of 85-character names that differ
// only at the end, at 1280×800 in Debian's chromium: readable text, distinct names, each disk
// framed on its own, zoom around the selection, no overlapping panes, a legend.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuImg, tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { SHOTS, closeAll, launchChromium, rendererDir, startServe, watchedPage, type ServeProcess } from './helpers.js';

const LAYERS = 20;
const layerName = (n: number) => `build-runner-ephemeral-overlay-${'x'.repeat(60)}-layer-${String(n).padStart(2, '0')}.qcow2`;
const snapName = (n: number) => `db01.snap-2024-01-1${n}.qcow2`;

/** `names[0]` the base, each next one an overlay on the one before (relative backing names). */
function makeStack(dir: string, names: string[]): string[] {
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', names[0]!, '1M');
  for (let i = 1; i < names.length; i++) qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', names[i - 1]!, '-F', 'qcow2', names[i]!);
  return names.map((n) => path.join(dir, n));
}

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const inside = (a: Rect, b: Rect) =>
  a.x >= b.x - 1 && a.y >= b.y - 1 && a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1;

describe('the chain graph at 1280×800', () => {
  let tmp: { dir: string; cleanup: () => void };
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let layers: string[];
  let snaps: string[];
  const problems: string[] = [];

  const node = (p: string): Locator => page.locator(`[data-testid="chain-node"][data-path="${p}"]`);
  const zoom = () =>
    page.locator('.canvas .react-flow__viewport').evaluate((el) => new DOMMatrixReadOnly(getComputedStyle(el).transform).a);
  const pane = async () => (await page.locator('.canvas .react-flow').boundingBox())!;
  /** Every card of `files` lies wholly inside the graph pane. */
  const allInView = async (files: string[]) => {
    const p = await pane();
    for (const f of files) {
      const b = await node(f).boundingBox();
      if (!b || !inside(b, p)) return false;
    }
    return true;
  };
  const chooseDisk = (top: string) => page.locator(`[data-testid="disk-item"][data-path="${top}"] .disk-open`).click();

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('diskchain-ui-graph-');
    layers = makeStack(
      tmp.dir,
      Array.from({ length: LAYERS }, (_, i) => layerName(i)),
    );
    snaps = makeStack(tmp.dir, [1, 2].map(snapName));
    serve = await startServe(['--port', '0', layers.at(-1)!, snaps.at(-1)!], {
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(serve.url);
  }, 120_000);

  afterAll(() => closeAll(browser, serve, tmp));

  it('frames the chosen disk at a readable size, its top in view', async () => {
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 30_000 }).toBe(LAYERS + snaps.length);
    await chooseDisk(layers.at(-1)!);
    const top = node(layers.at(-1)!);
    await expect.poll(() => allInView([layers.at(-1)!]), { timeout: 10_000 }).toBe(true);
    const name = top.getByTestId('node-name');
    const px = await name.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(px * (await zoom())).toBeGreaterThanOrEqual(9);
    expect((await name.boundingBox())!.height).toBeGreaterThanOrEqual(9);
    await page.screenshot({ path: path.join(SHOTS, 'graph-1280x800-light.png') });
  });

  it('shows each long name by its distinct tail, the full path in its title', async () => {
    const shown = new Set<string>();
    for (const [i, f] of layers.entries()) {
      const name = node(f).getByTestId('node-name');
      const text = (await name.textContent())!;
      expect(text).toContain('…');
      expect(text.endsWith(`-layer-${String(i).padStart(2, '0')}.qcow2`)).toBe(true);
      expect(await name.getAttribute('title')).toBe(f);
      // The text drawn is the text shown: CSS does not clip it further.
      const [scroll, client] = await name.evaluate((el) => [el.scrollWidth, el.clientWidth]);
      expect(scroll).toBeLessThanOrEqual(client! + 1);
      shown.add(text);
    }
    expect(shown.size).toBe(LAYERS);
    for (const [top, tail] of [
      [layers.at(-1)!, '-layer-19.qcow2'],
      [snaps.at(-1)!, '2024-01-12.qcow2'],
    ] as const) {
      const item = page.locator(`[data-testid="disk-item"][data-path="${top}"] .disk-name`);
      expect((await item.textContent())!.endsWith(tail)).toBe(true);
      expect(await item.getAttribute('title')).toBe(top);
      const [scroll, client, scrollH, clientH] = await item.evaluate((el) => [
        el.scrollWidth,
        el.clientWidth,
        el.scrollHeight,
        el.clientHeight,
      ]);
      expect(scroll).toBeLessThanOrEqual(client! + 1);
      expect(scrollH).toBeLessThanOrEqual(clientH! + 1);
    }
  });

  it('frames a second disk chosen in the sidebar, and Fit View frames it again', async () => {
    await chooseDisk(snaps.at(-1)!);
    await expect.poll(() => allInView(snaps), { timeout: 10_000 }).toBe(true);
    expect(await zoom()).toBeGreaterThanOrEqual(0.75);
    await page.mouse.move(700, 400);
    await page.mouse.wheel(0, -1200);
    await expect.poll(() => allInView(snaps)).toBe(false);
    await page.getByTestId('fit-view').click();
    await expect.poll(() => allInView(snaps), { timeout: 10_000 }).toBe(true);
  });

  it('zooms in around the selected card', async () => {
    const card = node(snaps[0]!);
    await card.click();
    const centre = async () => {
      const b = (await card.boundingBox())!;
      return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
    };
    const before = await centre();
    const z = await zoom();
    await page.locator('.react-flow__controls-zoomin').click();
    await expect.poll(zoom).toBeGreaterThan(z * 1.1);
    const after = await centre();
    expect(Math.abs(after.x - before.x)).toBeLessThan(3);
    expect(Math.abs(after.y - before.y)).toBeLessThan(3);
  });

  it('keeps the graph, the details panel and the sidebar apart', async () => {
    const graph = (await page.locator('.canvas').boundingBox())!;
    const details = (await page.getByTestId('details').boundingBox())!;
    const sidebar = (await page.locator('.sidebar').boundingBox())!;
    expect(overlaps(graph, details)).toBe(false);
    expect(overlaps(graph, sidebar)).toBe(false);
    expect(overlaps(details, sidebar)).toBe(false);
  });

  it('toggles the legend', async () => {
    await expect.poll(() => page.getByTestId('legend').count()).toBe(0);
    await page.getByTestId('legend-toggle').click();
    await expect.poll(() => page.getByTestId('legend').isVisible()).toBe(true);
    expect(await page.getByTestId('legend').textContent()).toMatch(/backing file.*data file/s);
    await page.getByTestId('legend-toggle').click();
    await expect.poll(() => page.getByTestId('legend').count()).toBe(0);
  });

  it('stays readable on a large dark screen', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.getByTestId('theme').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await chooseDisk(layers.at(-1)!);
    await expect.poll(() => allInView([layers.at(-1)!]), { timeout: 10_000 }).toBe(true);
    expect(await zoom()).toBeGreaterThanOrEqual(0.75);
    await page.screenshot({ path: path.join(SHOTS, 'graph-1920x1080-dark.png') });
    expect(problems).toEqual([]);
  });
});
