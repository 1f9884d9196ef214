// The app with the Forest tab active (Debian's chromium against `diskchain serve`): an image
// opened there is shown in the chain view, a domain's "Check access…" and "Relabel with this
// profile…" act on the domain's disk; then the relabel preview warns about a base another open
// disk shares, and the Export section's target, bus and read-only options reach the XML.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskElement, domainXml } from '../libvirt/fixtures.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { SHOTS, closeAll, makeChain, type Chain, type ServeProcess, serveForVm107 } from './helpers.js';

describe('the Forest tab and the chain view', () => {
  let tmp: { dir: string; cleanup: () => void };
  let vm: string;
  let chain: Chain;
  /** A second overlay on the chain's mid: mid and base are shared by two disks. */
  let other: string;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const card = (top: string) => page.locator(`[data-testid="chain-node"][data-path="${top}"]`);
  const errors = () => page.locator('[data-testid="notices"] .notice.error').allTextContents();

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('diskchain-ui-forest-tab-');
    fs.chmodSync(tmp.dir, 0o755);
    vm = path.join(tmp.dir, 'vm');
    fs.mkdirSync(vm, { mode: 0o755 });
    chain = makeChain(vm);
    other = path.join(vm, 'other.qcow2');
    qemuImg(vm, 'create', '-q', '-f', 'qcow2', '-b', chain.mid, '-F', 'qcow2', other);
    ({ serve, browser, page } = await serveForVm107(tmp.dir, problems));
  });

  afterAll(() => closeAll(browser, serve, tmp));

  it('an image opened on the Forest tab is shown, selected, in the chain view', async () => {
    await page.goto(serve.url);
    await page.getByTestId('open-path').fill(vm);
    await page.getByTestId('open-path-go').click();
    await page.getByTestId('view-forest').click();
    await expect.poll(() => page.getByTestId('forest-node').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('view-forest').getAttribute('aria-selected')).toBe('true');
    await page.getByTestId('open-path').fill(chain.top);
    await page.getByTestId('open-path-go').click();
    await expect.poll(() => page.getByTestId('view-chain').getAttribute('aria-selected'), { timeout: 20_000 }).toBe('true');
    await card(chain.top).and(page.locator('.selected')).waitFor();
    expect(await page.getByTestId('forest-node').count()).toBe(0);
  }, 60_000);

  it("a domain's Check access… and Relabel with this profile… act on its disk from the Forest tab", async () => {
    await page.getByTestId('view-forest').click();
    await page.getByTestId('open-domain').click();
    await page.getByTestId('domain-source-text').click();
    await page.getByTestId('domain-input').fill(domainXml([diskElement([{ file: other, format: 'qcow2' }], { end: 'open' })]));
    await page.getByTestId('domain-open').click();
    const vda = page.locator('[data-testid="domain-disk"][data-target="vda"]');
    await vda.getByTestId('domain-access').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('view-forest').getAttribute('aria-selected')).toBe('true');

    await vda.getByTestId('domain-access').click();
    await page.getByTestId('relabel-panel').waitFor();
    expect(await page.getByTestId('tab-access').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('relabel-disk').inputValue()).toBe(other);
    await page.locator('[data-testid="access-report"][data-uid="107"]').waitFor({ timeout: 20_000 });

    // Back on the Forest tab with the domain shown again.
    await page.keyboard.press('Escape');
    await page.getByTestId('view-forest').click();
    await page.getByTestId('view-domain').click();
    await vda.getByTestId('domain-relabel').click();
    await page.getByTestId('relabel-panel').waitFor();
    expect(await page.getByTestId('relabel-disk').inputValue()).toBe(other);
    expect(await page.getByTestId('profile-from').inputValue()).toMatch(/^domain-/);
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor({ timeout: 20_000 });
    expect(await errors()).toEqual([]);
  }, 60_000);

  it('the relabel preview warns that a base another open disk uses changes owner and stays so after Restore', async () => {
    const warning = page.getByTestId('shared-base-warning');
    await warning.waitFor();
    const text = (await warning.textContent())!;
    expect(text).toContain(path.basename(chain.mid));
    expect(text).toContain(path.basename(chain.base));
    expect(text).toContain('stays after Restore');
    await page.screenshot({ path: path.join(SHOTS, 'forest-tab-01-shared-base.png') });
    // Restore leaves backing files alone: nothing to warn about.
    await page.getByRole('tab', { name: 'Restore' }).click();
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor({ timeout: 20_000 });
    expect(await warning.count()).toBe(0);
  }, 60_000);

  it("the Export section's target, bus and read-only reach the <disk> XML", async () => {
    await page.keyboard.press('Escape');
    await page.getByTestId('relabel-panel').waitFor({ state: 'detached' });
    if ((await page.getByTestId('view-domain').getAttribute('aria-pressed')) === 'true') await page.getByTestId('view-domain').click();
    await card(chain.top).click();
    await page.locator('summary', { hasText: 'Export' }).click();
    await page.getByTestId('export-xml').click();
    await expect.poll(() => page.getByTestId('export-text').textContent()).toContain("<target dev='vda' bus='virtio'/>");
    expect(await page.getByTestId('export-text').textContent()).not.toContain('<readonly/>');
    await page.getByTestId('export-target').fill('vdb');
    await page.getByTestId('export-bus').selectOption('scsi');
    await page.getByTestId('export-readonly').check();
    await page.getByTestId('export-xml').click();
    await expect.poll(() => page.getByTestId('export-text').textContent()).toContain("<target dev='vdb' bus='scsi'/>");
    const xml = (await page.getByTestId('export-text').textContent())!;
    expect(xml).toContain(`<source file='${chain.top}'>`);
    expect(xml).toMatch(/<target dev='vdb' bus='scsi'\/>\n {2}<readonly\/>\n<\/disk>/);
    await page.getByTestId('export-target').fill('vd"b');
    await page.getByTestId('export-xml').click();
    await page.locator('[data-testid="details"] .alert.error').waitFor();
    expect(problems).toEqual([]);
  }, 60_000);
});
