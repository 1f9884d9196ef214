// A libvirt domain in the UI (Debian's chromium against `diskchain serve`): pasted `virsh dumpxml`
// output with a stale <backingStore>, the differences flagged on their level, the profile with
// its sources, Relabel with that profile checked on disk; then the access check on a locked
// folder, its fix applied and the qemu user really opening every file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskElement, domainXml } from '../libvirt/fixtures.js';
import { openAs } from '../support/as-user.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { SHOTS, launchChromium, makeChain, owner, rendererDir, startServe, type Chain, type ServeProcess } from './helpers.js';
import { stateDir } from '../support/state.js';

/** Open `file` as uid/gid 107 with no other groups (read-write or read-only); the errno code or 'ok'. */
function openAsVm(file: string, write: boolean): string {
  const [r] = openAs([{ path: file, write }]);
  return r!.ok ? 'ok' : (r!.code ?? 'failed');
}

describe('a libvirt domain in the UI', () => {
  let tmp: { dir: string; cleanup: () => void };
  let chain: Chain;
  let locked: Chain;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('diskchain-ui-domain-');
    fs.chmodSync(tmp.dir, 0o755);
    fs.mkdirSync(path.join(tmp.dir, 'vm'));
    chain = makeChain(path.join(tmp.dir, 'vm'));
    // A second disk whose folder the VM's user cannot search, its top readable by root only.
    fs.mkdirSync(path.join(tmp.dir, 'locked'));
    locked = makeChain(path.join(tmp.dir, 'locked'));
    for (const f of locked.all) fs.chmodSync(f, 0o600);
    fs.chmodSync(path.join(tmp.dir, 'locked'), 0o700);
    const conf = path.join(tmp.dir, 'qemu.conf');
    fs.writeFileSync(conf, '# test host\nuser = "+107"\ngroup = "+107"\ndynamic_ownership = 1\n');
    serve = await startServe(['--port', '0'], {
      DISKCHAIN_RENDERER_DIR: rendererDir(),
      DISKCHAIN_STATE_DIR: stateDir(),
      DISKCHAIN_QEMU_CONF: conf,
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    if (tmp) fs.chmodSync(path.join(tmp.dir, 'locked'), 0o700);
    tmp?.cleanup();
  });

  it('shows each disk with its XML chain beside its headers, flags a stale <backingStore>, and the profile with sources', async () => {
    // The XML still names the base the overlay had before a rebase: libvirt would label that file.
    const stale = path.join(chain.dir, 'old-base.qcow2');
    const disk = diskElement(
      [
        { file: chain.top, format: 'qcow2', data: chain.topData },
        { file: chain.mid, format: 'qcow2', data: chain.midData },
        { file: stale, format: 'qcow2' },
      ],
      { end: 'terminated' },
    );
    const dac = `<seclabel type='static' model='dac' relabel='yes'><label>+300:+301</label></seclabel>`;
    await page.goto(serve.url);
    await page.getByTestId('open-domain').click();
    await page.getByTestId('domain-source-text').click();
    await page.getByTestId('domain-input').fill(domainXml([disk], dac));
    await page.getByTestId('domain-open').click();
    await page.getByTestId('domain-view').waitFor();

    const vda = page.locator('[data-testid="domain-disk"][data-target="vda"]');
    await expect.poll(() => vda.getAttribute('data-differences')).not.toBe('0');
    const codes = await vda
      .getByTestId('difference')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-code')}@${e.textContent}`));
    expect(codes.some((c) => c.startsWith('path-differs@') && c.includes('level 2'))).toBe(true);
    expect(codes.some((c) => c.startsWith('data-file-missing@') && c.includes('level 2'))).toBe(true);
    // Levels 0 and 1 agree; level 2 is flagged.
    const rows = vda.getByTestId('compare-row');
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-differs')))).toEqual(['false', 'false', 'true']);

    const value = (f: string) =>
      page.locator(`[data-testid="domain-profile"] [data-field="${f}"] [data-testid="profile-value"]`).textContent();
    const source = (f: string) =>
      page.locator(`[data-testid="domain-profile"] [data-field="${f}"] [data-testid="profile-source"]`).textContent();
    expect(await value('user')).toBe('+300');
    expect(await source('user')).toContain("<seclabel model='dac'");
    expect(await value('dynamic_ownership')).toBe('yes');
    expect(await source('dynamic_ownership')).toMatch(/qemu\.conf:4/);
    expect(await source('remember_owner')).toMatch(/default/);
    await page.screenshot({ path: path.join(SHOTS, 'domain-01-differences.png') });
  }, 60_000);

  it("relabels with the domain's profile (not the form's), and the files change on disk", async () => {
    // A domain's XML never opens folders for changes by itself: the user opens the VM's folder.
    await page.getByTestId('open-path').fill(chain.dir);
    await page.getByTestId('open-path-go').click();
    await page.getByTestId('view-forest').click();
    await expect.poll(() => page.getByTestId('forest-summary').textContent(), { timeout: 20_000 }).toMatch(/\d/);
    await page.getByTestId('view-chain').click();
    if ((await page.getByTestId('view-domain').getAttribute('aria-pressed')) !== 'true') await page.getByTestId('view-domain').click();
    const vda = page.locator('[data-testid="domain-disk"][data-target="vda"]');
    await vda.getByTestId('domain-relabel').click();
    await page.getByTestId('relabel-panel').waitFor();
    await expect.poll(() => page.getByTestId('profile-from').inputValue()).toMatch(/^domain-/);
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    expect(await page.locator('[data-testid="panel-domain-profile"] [data-field="user"]').textContent()).toContain('+300');
    await page.screenshot({ path: path.join(SHOTS, 'domain-02-relabel-preview.png') });
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
    // The header chain's files, not the stale XML name (which does not exist).
    expect(chain.all.map(owner)).toEqual(Array(6).fill('300:301'));
    await page.getByTestId('undo').click();
    await expect.poll(() => owner(chain.top)).toBe('0:0');
  }, 60_000);

  it('finds what stops uid 107 on a locked folder, previews the fix, and after Apply uid 107 opens every file', async () => {
    expect(openAsVm(locked.top, true)).toBe('EACCES');
    await page.getByTestId('view-domain').click(); // back to the graph
    await page.getByTestId('open-path').fill(locked.top);
    await page.getByTestId('open-path-go').click();
    await expect.poll(() => page.locator(`[data-testid="chain-node"][data-path="${locked.top}"]`).count(), { timeout: 20_000 }).toBe(1);
    await page.locator(`[data-testid="chain-node"][data-path="${locked.top}"]`).click();
    await page.getByTestId('relabel').click();
    await page.getByTestId('tab-access').click();
    // The panel keeps the domain's profile until told to use the form.
    await page.getByTestId('profile-from').selectOption('');
    await page.getByTestId('relabel-disk').selectOption(locked.top);
    await page.getByTestId('relabel-user').fill('+107');
    await page.getByTestId('relabel-group').fill('+107');
    // The report for the user typed, not the one the form started with (the host's qemu account, if any).
    await page.locator('[data-testid="access-report"][data-ok="false"][data-uid="107"]').waitFor({ timeout: 20_000 });
    const kinds = await page
      .getByTestId('blocker')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-kind')} ${e.getAttribute('data-path')}`));
    expect(kinds, JSON.stringify(kinds)).toContain(`search ${path.join(tmp.dir, 'locked')}`);
    const folderRows = page.locator('[data-testid="plan-row"][data-role="folder"]');
    expect(await folderRows.count()).toBeGreaterThan(0);
    expect(await folderRows.first().textContent()).toMatch(/user:107:--x/);
    await page.screenshot({ path: path.join(SHOTS, 'domain-03-access.png') });
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
    await page.locator('[data-testid="access-report"][data-ok="true"]').waitFor({ timeout: 20_000 });
    expect(openAsVm(locked.top, true)).toBe('ok');
    expect(openAsVm(locked.topData, true)).toBe('ok');
    for (const f of [locked.mid, locked.midData, locked.base, locked.baseData]) expect(openAsVm(f, false)).toBe('ok');
  }, 60_000);

  it('a data file the headers name but the XML does not stays outside the folders a domain opens', async () => {
    fs.mkdirSync(path.join(tmp.dir, 'vm2'));
    fs.mkdirSync(path.join(tmp.dir, 'secret'));
    const secret = path.join(tmp.dir, 'secret', 'key.raw');
    const top = path.join(tmp.dir, 'vm2', 'top.qcow2');
    qemuImg(tmp.dir, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${secret}`, top, '1M');
    await page.keyboard.press('Escape');
    await page.getByTestId('open-domain').click();
    await page.getByTestId('domain-source-text').click();
    await page.getByTestId('domain-input').fill(domainXml([diskElement([{ file: top, format: 'qcow2' }], { end: 'terminated' })]));
    await page.getByTestId('domain-open').click();
    const vda = page.locator('[data-testid="domain-disk"][data-target="vda"]');
    await vda.locator('[data-testid="difference"][data-code="data-file-missing"]').waitFor();
    await vda.getByTestId('domain-relabel').click();
    await page.getByTestId('refusals').waitFor();
    expect(await page.getByTestId('refusals').textContent()).toContain(secret);
    expect(await page.getByTestId('apply').isEnabled()).toBe(false);
    expect(owner(secret)).toBe('0:0');
    await page.keyboard.press('Escape');
    await page.getByTestId('view-domain').click();
  }, 60_000);

  it("exports an open disk's chain as libvirt's <disk> XML and as qemu -blockdev nodes", async () => {
    await page.keyboard.press('Escape');
    await page.getByTestId('relabel-panel').waitFor({ state: 'detached' });
    await page.locator(`[data-testid="chain-node"][data-path="${chain.top}"]`).click();
    await page.locator('summary', { hasText: 'Export' }).click();
    await page.getByTestId('export-xml').click();
    const xml = await page.getByTestId('export-text').textContent();
    expect(xml).toContain(`<source file='${chain.top}'>`);
    expect(xml).toContain(`<source file='${chain.baseData}'/>`);
    expect(xml!.match(/<dataStore type='file'>/g)).toHaveLength(3);
    expect(xml!.trim().endsWith('</disk>')).toBe(true);
    await page.getByTestId('export-blockdev').click();
    await expect.poll(() => page.getByTestId('export-text').textContent()).toContain('-blockdev');
    const nodes = (await page.getByTestId('export-text').textContent())!.split(' \\\n').map(
      (a) =>
        JSON.parse(
          a
            .trim()
            .replace(/^-blockdev '/, '')
            .replace(/'$/, ''),
        ) as Record<string, unknown>,
    );
    expect(nodes.filter((n) => n['data-file'])).toHaveLength(3);
    expect(nodes.some((n) => n.filename === chain.midData)).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'domain-04-export.png') });
    expect(problems).toEqual([]);
  }, 60_000);
});
