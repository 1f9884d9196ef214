// "Explain an error…" in Debian's chromium against `diskchain serve`: a libvirt message and an
// AppArmor record about a base uid 107 cannot read, each explained (file, chain top, subject,
// layer, verdict) and Fix… leading to the access check of that top; then the access panel's
// wording: one blocker, and a fix that changes one folder only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/qemu.js';
import { SHOTS, closeAll, makeChain, type Chain, type ServeProcess, serveForVm107 } from './helpers.js';

describe('explaining a denial in the app', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let locked: Chain;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('diskchain-ui-explain-');
    fs.chmodSync(tmp.dir, 0o755);
    fs.mkdirSync(path.join(tmp.dir, 'vm'), { mode: 0o755 });
    chain = makeChain(path.join(tmp.dir, 'vm'));
    // The VM's user owns its top; the base is root's alone.
    for (const f of [chain.top, chain.topData]) fs.chownSync(f, 107, 107);
    fs.chownSync(chain.base, 0, 0);
    fs.chmodSync(chain.base, 0o600);
    // Every file opens for uid 107 but the folder cannot be searched: the fix changes the folder only.
    fs.mkdirSync(path.join(tmp.dir, 'locked'));
    locked = makeChain(path.join(tmp.dir, 'locked'));
    for (const f of [locked.top, locked.topData]) fs.chownSync(f, 107, 107);
    fs.chmodSync(path.join(tmp.dir, 'locked'), 0o700);
    ({ serve, browser, page } = await serveForVm107(tmp.dir, problems));
  });

  afterAll(async () => {
    if (tmp) fs.chmodSync(path.join(tmp.dir, 'locked'), 0o700);
    await closeAll(browser, serve, tmp);
  });

  it("explains libvirt's message and an AppArmor record: file, chain top, subject, layer, verdict", async () => {
    const log = [
      `2026-11-30 10:00:00.000+0000: 1234: error : virStorageSourceReportBrokenChain:123 : Cannot access storage file '${chain.base}' (as uid:107, gid:107): Permission denied`,
      `audit: type=1400 audit(1764496800.123:45): apparmor="DENIED" operation="open" profile="libvirt-0b5e6d4c" name="${chain.base}" pid=4242 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=107 ouid=0`,
    ].join('\n');
    await page.goto(serve.url);
    await page.getByTestId('explain').click();
    const dialog = page.getByTestId('explain-dialog');
    await dialog.getByTestId('explain-text').fill(log);
    await dialog.getByTestId('explain-go').click();
    const items = dialog.getByTestId('explain-denial');
    await expect.poll(() => items.count(), { timeout: 20_000 }).toBe(2);

    const libvirt = items.nth(0);
    expect(await libvirt.getAttribute('data-source')).toBe('libvirt');
    expect(await libvirt.getByTestId('explain-file').textContent()).toBe(chain.base);
    expect(await libvirt.getByTestId('explain-top').textContent()).toBe(chain.top);
    expect(await libvirt.getByTestId('explain-subject').textContent()).toBe('uid 107, gid 107');
    expect(await libvirt.getAttribute('data-layers')).toMatch(/^(owner|mode)$/);
    expect(await libvirt.getByTestId('explain-verdict').getAttribute('data-state')).toBe('blocked');
    expect(await libvirt.getByTestId('explain-verdict').textContent()).toMatch(/\(107:107\) cannot open 1 of 6 files$/);

    const apparmor = items.nth(1);
    expect(await apparmor.getAttribute('data-source')).toBe('apparmor');
    expect(await apparmor.getByTestId('explain-file').textContent()).toBe(chain.base);
    expect(await apparmor.getByTestId('explain-top').textContent()).toBe(chain.top);
    expect(await apparmor.getByTestId('explain-subject').textContent()).toBe('AppArmor profile libvirt-0b5e6d4c, fsuid 107');
    expect(await apparmor.getAttribute('data-layers')).toBe('apparmor-rule');
    expect(await apparmor.getByTestId('explain-layers').textContent()).toContain('libvirt-0b5e6d4c');
    await page.screenshot({ path: path.join(SHOTS, 'explain-01-denials.png') });
  }, 60_000);

  it("Fix… opens the disk (not open before) and the access check of its top, for the record's user", async () => {
    expect(await page.getByTestId('chain-node').count()).toBe(0);
    await page.getByTestId('explain-denial').nth(0).getByTestId('explain-fix').click();
    await page.getByTestId('explain-dialog').waitFor({ state: 'detached' });
    await page.getByTestId('relabel-panel').waitFor();
    expect(await page.getByTestId('tab-access').getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId('relabel-disk').inputValue()).toBe(chain.top);
    await page.locator(`[data-testid="chain-node"][data-path="${chain.top}"]`).waitFor({ timeout: 20_000 });
    const report = page.locator('[data-testid="access-report"][data-ok="false"][data-uid="107"]');
    await report.waitFor({ timeout: 20_000 });
    // One blocker, one verb that agrees with it.
    expect(await report.textContent()).toContain('1 thing stops the VM.');
    await page.screenshot({ path: path.join(SHOTS, 'explain-02-fix.png') });
  }, 60_000);

  it('an access fix that changes one folder says "1 folder changed"', async () => {
    await page.getByTestId('open-path').fill(locked.top);
    await page.getByTestId('open-path-go').click();
    await page.locator(`[data-testid="chain-node"][data-path="${locked.top}"]`).waitFor({ timeout: 20_000 });
    await page.getByTestId('relabel-disk').selectOption(locked.top);
    // The preview of this disk, not the one shown before.
    await page.locator('[data-testid="plan-row"][data-role="folder"]').first().waitFor({ timeout: 20_000 });
    expect(
      await page.locator('[data-testid="plan-row"][data-changes="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-role'))),
    ).toEqual(['folder']);
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    await expect.poll(() => page.getByTestId('apply-result').textContent(), { timeout: 20_000 }).toBe('Access fixed: 1 folder changed.');
    expect(problems).toEqual([]);
  }, 60_000);
});
