// Accessibility in Debian's chromium against `diskchain serve`: axe-core on every main view in
// both themes (the domain view too), the skip link and the tab order, one roving tab stop per canvas, focus moving
// into a panel, the Domain dialog's focus trap, and the `?` list of keyboard shortcuts.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { stateDir } from '../support/state.js';
import { closeAll, launchChromium, makeChain, rendererDir, startServe, watchedPage, type Chain, type ServeProcess } from './helpers.js';
import { openDomainOf } from './open-domain.js';

// The page's CSP (script-src 'self') refuses page.addScriptTag's inline script; code evaluated
// through the DevTools protocol is not subject to it, so axe's source is evaluated instead.
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  nodes: { target: unknown[] }[];
}

describe('accessibility', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let pool: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  /** axe's violations on the page as it is now, printed (rule and elements) when there are any. */
  const violations = async (view: string): Promise<string[]> => {
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
    const found = await page.evaluate(async () => {
      const w = window as unknown as { axe: { run(c: Document, o: object): Promise<{ violations: Violation[] }> } };
      const r = await w.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) }));
    });
    if (found.length) console.log(`axe, ${view}:\n${found.map((v) => `  ${v.id}: ${v.targets.join(' | ')}`).join('\n')}`);
    return found.map((v) => v.id);
  };
  /** Every view in the light theme and then the dark one; the theme is put back after. */
  const bothThemes = async (view: string): Promise<Record<string, string[]>> => {
    const out: Record<string, string[]> = {};
    for (let i = 0; i < 2; i++) {
      const theme = await page.evaluate(() => document.documentElement.dataset.theme ?? '');
      out[theme] = await violations(`${view}, ${theme}`);
      // Not a mouse click: an open dialog's backdrop would take it (and close the dialog).
      await page.getByTestId('theme').dispatchEvent('click');
      await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).not.toBe(theme);
    }
    expect(Object.keys(out).sort()).toEqual(['dark', 'light']);
    return out;
  };
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
  const focusedCard = () =>
    page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.react-flow__node')?.dataset.id ?? null);
  /** The tab stops among the cards of the canvas on screen. */
  const cardStops = () => page.locator('.react-flow__node[tabindex="0"]').count();
  const openPath = async (p: string) => {
    await page.getByTestId('open-path').fill(p);
    await page.keyboard.press('Enter');
  };

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-a11y-');
    chain = makeChain(tmp.dir);
    pool = path.join(tmp.dir, 'pool');
    fs.mkdirSync(pool);
    makeChain(pool, 'p-');
    serve = await startServe(['--port', '0'], { DISKCHAIN_RENDERER_DIR: rendererDir(), DISKCHAIN_STATE_DIR: stateDir() });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await page.emulateMedia({ colorScheme: 'light' });
  }, 120_000);

  afterAll(() => closeAll(browser, serve, tmp));

  it('the empty start has no axe violations in either theme, and Tab reaches the skip link then the toolbar', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').waitFor();
    expect(await bothThemes('empty start')).toEqual({ light: [], dark: [] });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('skip-link');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('open-path');
  });

  it('a chain open: no violations, the toolbar before the cards, one card tab stop walked with the arrows', async () => {
    await openPath(chain.top);
    await page.locator('[data-testid="chain-node"]').first().waitFor();
    await expect.poll(() => page.getByTestId('chain-node').count()).toBe(6);
    expect(await bothThemes('graph')).toEqual({ light: [], dark: [] });
    expect(await cardStops()).toBe(1);

    // The document's tab order (no positive tabindex anywhere): the skip link, the toolbar, and
    // later a single card.
    const order = await page.evaluate(() =>
      Array.from(document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]'))
        .filter((e) => e.tabIndex >= 0 && !(e as HTMLButtonElement).disabled && e.getClientRects().length > 0)
        .map((e) => (e.classList.contains('react-flow__node') ? 'card' : (e.getAttribute('data-testid') ?? e.tagName))),
    );
    expect(order.slice(0, 2)).toEqual(['skip-link', 'open-path']);
    expect(order.indexOf('card')).toBeGreaterThan(order.indexOf('relabel'));
    expect(order.filter((e) => e === 'card')).toHaveLength(1);
    await page.getByTestId('open-path').focus();
    await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('skip-link');

    // The skip link lands on the graph's one tab stop; the arrows move it and the selection.
    await page.keyboard.press('Enter');
    const first = await focusedCard();
    expect(first).not.toBeNull();
    await page.keyboard.press('ArrowDown');
    await expect.poll(focusedCard).not.toBe(first);
    const second = await focusedCard();
    expect(await page.locator('.react-flow__node[tabindex="0"]').getAttribute('data-id')).toBe(second);
    expect(await cardStops()).toBe(1);
  });

  it('r opens the relabel panel with focus in its first field; no violations there', async () => {
    const opener = await focusedCard();
    expect(opener).not.toBeNull();
    await page.keyboard.press('r');
    await page.getByTestId('relabel-panel').waitFor();
    await expect
      .poll(() =>
        page.evaluate(() => {
          const a = document.activeElement;
          return !!a?.closest('[data-testid="relabel-panel"]') && ['INPUT', 'SELECT', 'TEXTAREA'].includes(a.tagName);
        }),
      )
      .toBe(true);
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    expect(await bothThemes('relabel panel')).toEqual({ light: [], dark: [] });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('relabel-panel').count()).toBe(0);
    await expect.poll(focusedCard).toBe(opener);
  });

  it('the Domain dialog traps focus, gives it back to its opener, and has no violations', async () => {
    await page.getByTestId('open-domain').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('domain-dialog').waitFor();
    await expect.poll(focused).toBe('domain-input');
    expect(await bothThemes('domain dialog')).toEqual({ light: [], dark: [] });
    const inside = () => page.evaluate(() => !!document.activeElement?.closest('[data-testid="domain-dialog"]'));
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      expect(await inside()).toBe(true);
    }
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Shift+Tab');
      expect(await inside()).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('domain-dialog').count()).toBe(0);
    expect(await focused()).toBe('open-domain');
  });

  it('? lists the keyboard shortcuts; Escape closes the list', async () => {
    await page.getByTestId('open-domain').focus();
    await page.keyboard.press('?');
    const list = page.getByTestId('shortcuts');
    await list.waitFor();
    expect(await list.textContent()).toMatch(/Ctrl\+L/);
    expect(await list.textContent()).toMatch(/Relabel/i);
    expect(await violations('shortcuts')).toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => list.count()).toBe(0);
    expect(await focused()).toBe('open-domain');
  });

  it('a scanned folder: no violations, forest cards take focus with one tab stop walked by the arrows', async () => {
    await openPath(pool);
    await page.getByTestId('forest-node').first().waitFor({ timeout: 20_000 });
    expect(await bothThemes('forest')).toEqual({ light: [], dark: [] });
    expect(await cardStops()).toBe(1);
    await page.locator('.react-flow__node[tabindex="0"]').focus();
    const first = await focusedCard();
    expect(first).not.toBeNull();
    await page.keyboard.press('ArrowRight');
    await expect.poll(focusedCard).not.toBe(first);
    const next = await focusedCard();
    expect(next).not.toBeNull();
    expect(await page.locator('.react-flow__node[tabindex="0"]').getAttribute('data-id')).toBe(next);
    expect(await cardStops()).toBe(1);
  });

  it('the domain view of an opened domain XML has no violations in either theme', async () => {
    await openDomainOf(page, chain);
    expect(await bothThemes('domain view')).toEqual({ light: [], dark: [] });
    expect(problems).toEqual([]);
  });
});
