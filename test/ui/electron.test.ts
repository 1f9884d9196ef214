// The same flow in the Electron app, where its runtime exists (it cannot be downloaded
// everywhere: then this says why in one line and skips; flow.test.ts covers the UI via serve).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { ROOT, SHOTS, makeChain, owner, xattr, type Chain } from './helpers.js';
import { stateDir } from '../support/state.js';

/** The Electron binary and built app, or why not; never `require('electron')` (it downloads). */
function electronSetup(): { bin: string; main: string } | { why: string } {
  const pkg = path.join(ROOT, 'node_modules/electron');
  const rel = fs.existsSync(path.join(pkg, 'path.txt')) ? fs.readFileSync(path.join(pkg, 'path.txt'), 'utf8').trim() : null;
  const bin = rel ? path.join(process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(pkg, 'dist'), rel) : null;
  if (!bin || !fs.existsSync(bin))
    return {
      why: 'Electron runtime not installed (node_modules/electron/dist is missing); the UI is tested through serve in flow.test.ts',
    };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
    return { why: 'no display (DISPLAY/WAYLAND_DISPLAY unset) for Electron' };
  const main = path.join(ROOT, 'dist/electron/main.js');
  for (const f of [main, path.join(ROOT, 'dist/electron/preload.cjs'), path.join(ROOT, 'dist/renderer/index.html')]) {
    if (!fs.existsSync(f)) return { why: `${path.relative(ROOT, f)} is not built (npm run build)` };
  }
  return { bin, main };
}

const setup = electronSetup();
if ('why' in setup) console.log(`Electron test skipped: ${setup.why}`);
const TITLE = 'opens a chain, relabels and restores it through the window; the page reaches only window.diskchain';

describe('the Electron app', () => {
  let app: ElectronApplication | null = null;
  let tmp: { dir: string; cleanup: () => void } | null = null;

  afterAll(async () => {
    await app?.close();
    tmp?.cleanup();
  });

  // Where it cannot run, the reason is the test's name (reporters show it) and the skip note.
  it.skipIf('why' in setup)('why' in setup ? `${TITLE} [skipped: ${setup.why}]` : TITLE, async (ctx) => {
    if ('why' in setup) return ctx.skip(setup.why);
    tmp = tempDir('diskchain-ui-electron-');
    const chain: Chain = makeChain(tmp.dir);
    app = await _electron.launch({
      executablePath: setup.bin,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), setup.main, chain.top],
      env: { ...process.env, DISKCHAIN_STATE_DIR: stateDir() } as Record<string, string>,
      timeout: 60_000,
    });
    const page: Page = await app.firstWindow();
    await page.setViewportSize({ width: 1600, height: 1000 });
    const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `electron-${name}.png`) });
    const node = (p: string) => page.locator(`[data-testid="chain-node"][data-path="${p}"]`);

    expect(page.url()).toBe('app://diskchain/index.html');
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 30_000 }).toBe(6);
    expect(await node(chain.mid).getAttribute('data-role')).toBe('backing');
    expect(await node(chain.topData).getAttribute('data-role')).toBe('data-file');
    expect(await node(chain.top).getByTestId('node-owner').textContent()).toBe('root:root (0:0)');
    await shot('opened');

    // The isolated page: no Node, one small object, contract channels only.
    const reach = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const api = w.diskchain as { invoke: (c: string, r: unknown) => Promise<unknown> };
      let unknownChannel = '';
      await api.invoke('readFile', { path: '/etc/shadow' }).catch((e: Error) => (unknownChannel = e.message));
      let badPayload = '';
      await api.invoke('open', { paths: ['/etc/shadow'], sneaky: 1 }).catch((e: Error) => (badPayload = e.message));
      return {
        require: typeof w.require,
        process: typeof w.process,
        ipcRenderer: typeof w.ipcRenderer,
        keys: Object.keys(w.diskchain as object).sort(),
        unknownChannel,
        badPayload,
      };
    });
    expect(reach).toEqual({
      require: 'undefined',
      process: 'undefined',
      ipcRenderer: 'undefined',
      keys: ['invoke', 'on', 'pathForFile'],
      unknownChannel: expect.stringMatching(/unknown request/),
      badPayload: expect.stringMatching(/refused open/),
    });

    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.getByTestId('relabel-user').fill('+107');
    await page.getByTestId('relabel-group').fill('+107');
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    expect(await page.getByTestId('plan-row').count()).toBe(6);
    await shot('preview');
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
    for (const f of chain.all) expect(owner(f)).toBe('107:107');
    expect(xattr(chain.top, 'trusted.libvirt.security.dac')).toBe('+0:+0');
    await expect.poll(() => node(chain.top).getByTestId('node-owner').textContent()).toMatch(/\(107:107\)$/);
    await shot('applied');

    await page.getByTestId('restore').click();
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
    expect(owner(chain.top)).toBe('0:0');
    expect(owner(chain.topData)).toBe('0:0');
    await expect.poll(() => node(chain.top).getByTestId('node-owner').textContent()).toBe('root:root (0:0)');
    await shot('restored');
  });
});
