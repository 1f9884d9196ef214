// The whole UI in Debian's chromium against `diskchain serve`, as root, on qemu-img-made images:
// open a 3-deep chain with data files, relabel for DAC and SELinux, restore, undo, a refused
// plan, a shared base; the renderer's reach. Screenshots of each step go to test-results/ui/.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_LABEL } from '../../shared/plan.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import {
  SHOTS,
  launchChromium,
  makeChain,
  owner,
  rendererDir,
  selinux,
  setXattr,
  snapshot,
  startServe,
  xattr,
  type Chain,
  type ServeProcess,
} from './helpers.js';
import { stateDir } from '../support/state.js';

const ORIGINAL_LABEL = 'system_u:object_r:virt_image_t:s0';
const VM_LABEL = 'system_u:object_r:svirt_image_t:s0:c10,c20';

describe('the UI, served to chromium', () => {
  let tmp: { dir: string; cleanup: () => void };
  let outside: { dir: string; cleanup: () => void };
  let chain: Chain;
  let serve: ServeProcess;
  let browser: Browser;
  let page: Page;
  let step = 0;
  const problems: string[] = [];

  const shot = async (name: string) => {
    step++;
    await page.screenshot({ path: path.join(SHOTS, `flow-${String(step).padStart(2, '0')}-${name}.png`) });
  };
  const node = (p: string): Locator => page.locator(`[data-testid="chain-node"][data-path="${p}"]`);
  const field = (p: string, name: string) => node(p).getByTestId(name);
  /** Wait for a preview made for the form as it is now, then hand back its rows. */
  const preview = async (): Promise<Locator> => {
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    return page.getByTestId('plan-row');
  };
  const apply = async () => {
    await expect.poll(() => page.getByTestId('apply').isEnabled()).toBe(true);
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-result').waitFor();
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
  };

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (/^flow-\d+-.*\.png$/.test(f)) fs.rmSync(path.join(SHOTS, f));
    tmp = tempDir('diskchain-ui-flow-');
    outside = tempDir('diskchain-ui-elsewhere-');
    fs.mkdirSync(path.join(tmp.dir, 'vm'));
    chain = makeChain(path.join(tmp.dir, 'vm'));
    for (const f of chain.all) setXattr(f, 'security.selinux', ORIGINAL_LABEL);
    const renderer = rendererDir();
    serve = await startServe(['--port', '0', chain.top], {
      DISKCHAIN_RENDERER_DIR: renderer,
      DISKCHAIN_STATE_DIR: stateDir(),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(
          `CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`,
        ),
      ),
    );
  });

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    tmp?.cleanup();
    outside?.cleanup();
  });

  it('opens the chain given to serve: the right nodes, roles, owners and contexts', async () => {
    await page.goto(serve.url);
    await expect.poll(() => page.getByTestId('chain-node').count(), { timeout: 20_000 }).toBe(6);
    const roles: Record<string, string> = {
      [chain.top]: 'image',
      [chain.topData]: 'data-file',
      [chain.mid]: 'backing',
      [chain.midData]: 'data-file',
      [chain.base]: 'backing',
      [chain.baseData]: 'data-file',
    };
    for (const [p, role] of Object.entries(roles)) {
      await expect.poll(() => node(p).getAttribute('data-role')).toBe(role);
      expect(await field(p, 'node-name').textContent()).toBe(path.basename(p));
      expect(await field(p, 'node-owner').textContent()).toBe('root:root (0:0)');
      expect(await field(p, 'node-mode').textContent()).toBe('-rw-r--r--');
      expect(await field(p, 'node-selinux').textContent()).toBe(ORIGINAL_LABEL);
      expect(await field(p, 'node-format').textContent()).toMatch(role === 'data-file' ? /^raw/ : /^qcow2/);
    }
    expect(await field(chain.top, 'node-size').textContent()).toMatch(/16 MiB virtual/);
    // The whole graph is on screen, each data file under its image, the chain left to right.
    const box = async (p: string) => (await node(p).boundingBox())!;
    expect((await box(chain.top)).x).toBeLessThan((await box(chain.mid)).x);
    expect((await box(chain.mid)).x).toBeLessThan((await box(chain.base)).x);
    expect((await box(chain.topData)).y).toBeGreaterThan((await box(chain.top)).y);
    await shot('opened');
  });

  it('shows the selected file in full: header fields, qemu-img JSON, names; arrows walk the graph', async () => {
    await node(chain.mid).click();
    await expect.poll(() => page.getByTestId('details-path').textContent()).toBe(chain.mid);
    const header = await page.getByTestId('header-fields').textContent();
    expect(header).toMatch(/virtual size\s*16777216/);
    expect(header).toMatch(/cluster size\s*65536/);
    await page.getByText('qemu-img info --output=json').click();
    const json = JSON.parse((await page.getByTestId('qemu-json').textContent())!);
    expect(json).toMatchObject({ format: 'qcow2', 'virtual-size': 16777216, 'backing-filename': chain.base });
    expect(page.getByTestId('details').getByText('libvirt joins')).toBeTruthy();
    await shot('details');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getByTestId('details-path').textContent()).toBe(chain.base);
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('details-path').textContent()).toBe(chain.baseData);
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.getByTestId('details-path').textContent()).toBe(chain.mid);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.getByTestId('details-path').textContent()).toBe(chain.top);
  });

  it('relabels for DAC: the preview lists each change, apply changes the files and the graph', async () => {
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.getByTestId('relabel-user').fill('+107');
    await page.getByTestId('relabel-group').fill('+107');
    const rows = await preview();
    expect(await rows.count()).toBe(6);
    for (const p of chain.all) {
      const row = page.locator(`[data-testid="plan-row"][data-path="${p}"]`);
      expect(await row.getAttribute('data-changes')).toBe('true');
      expect(await row.textContent()).toMatch(/owner .*0:0.* → .*107:107/);
    }
    expect(await page.locator(`[data-testid="plan-row"][data-path="${chain.top}"] td:nth-child(4)`).textContent()).toBe('yes');
    await shot('dac-preview');
    await apply();
    for (const p of chain.all) expect(owner(p), p).toBe('107:107');
    expect(xattr(chain.top, 'trusted.libvirt.security.dac')).toBe('+0:+0');
    // Names as this host's NSS has them (gid 107 may be kvm): the ids are what count.
    await expect.poll(() => field(chain.top, 'node-owner').textContent()).toMatch(/^\S+:\S+ \(107:107\)$/);
    await expect.poll(() => field(chain.base, 'node-owner').textContent()).toMatch(/^\S+:\S+ \(107:107\)$/);
    await expect.poll(() => node(chain.top).locator('[data-testid="remembered-badge"][data-driver="dac"]').count()).toBe(1);
    await shot('dac-applied');
  });

  it('restores DAC: the top and its data file are back as they were', async () => {
    await page.getByTestId('restore').click();
    await preview();
    expect(await page.locator(`[data-testid="plan-row"][data-path="${chain.top}"]`).getAttribute('data-changes')).toBe('true');
    expect(await page.locator(`[data-testid="plan-row"][data-path="${chain.topData}"]`).getAttribute('data-changes')).toBe('true');
    await shot('dac-restore-preview');
    await apply();
    expect(owner(chain.top)).toBe('0:0');
    expect(owner(chain.topData)).toBe('0:0');
    expect(xattr(chain.top, 'trusted.libvirt.security.dac')).toBeNull();
    await expect.poll(() => field(chain.top, 'node-owner').textContent()).toBe('root:root (0:0)');
    await expect.poll(() => node(chain.top).getByTestId('remembered-badge').count()).toBe(0);
    await shot('dac-restored');
  });

  it('relabels for SELinux, restores, and undoes the restore', async () => {
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-driver').selectOption('selinux');
    await page.getByTestId('relabel-label').fill(VM_LABEL);
    await preview();
    expect(await page.locator(`[data-testid="plan-row"][data-path="${chain.top}"]`).textContent()).toContain(
      `${ORIGINAL_LABEL} → ${VM_LABEL}`,
    );
    expect(await page.locator(`[data-testid="plan-row"][data-path="${chain.mid}"]`).textContent()).toContain(`→ ${CONTENT_LABEL}`);
    await shot('selinux-preview');
    await apply();
    expect(selinux(chain.top)).toBe(VM_LABEL);
    expect(selinux(chain.topData)).toBe(VM_LABEL);
    expect(selinux(chain.mid)).toBe(CONTENT_LABEL);
    expect(selinux(chain.baseData)).toBe(CONTENT_LABEL);
    expect(xattr(chain.top, 'trusted.libvirt.security.selinux')).toBe(ORIGINAL_LABEL);
    await expect.poll(() => field(chain.top, 'node-selinux').textContent()).toBe(VM_LABEL);
    await expect.poll(() => field(chain.mid, 'node-selinux').textContent()).toBe(CONTENT_LABEL);
    await shot('selinux-applied');

    await page.getByTestId('restore').click();
    await preview();
    await apply();
    expect(selinux(chain.top)).toBe(ORIGINAL_LABEL);
    expect(selinux(chain.topData)).toBe(ORIGINAL_LABEL);
    await expect.poll(() => field(chain.top, 'node-selinux').textContent()).toBe(ORIGINAL_LABEL);
    await shot('selinux-restored');

    expect(await page.getByTestId('undo').isEnabled()).toBe(true);
    await page.getByTestId('undo').click();
    await expect.poll(() => selinux(chain.top)).toBe(VM_LABEL);
    expect(selinux(chain.topData)).toBe(VM_LABEL);
    await expect.poll(() => field(chain.top, 'node-selinux').textContent()).toBe(VM_LABEL);
    await expect.poll(() => page.getByTestId('undo').isDisabled()).toBe(true);
    await shot('undone');
  });

  it('refuses a plan that reaches outside the allowed folders, says why, changes nothing', async () => {
    const dir = path.join(tmp.dir, 'other-vm');
    fs.mkdirSync(dir);
    const top = path.join(dir, 'vm.qcow2');
    const data = path.join(outside.dir, 'vm.data');
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${data}`, top, '8M');
    const before = snapshot([top, data]);
    await page.getByTestId('open-path').fill(top);
    await page.getByTestId('open-path-go').click();
    await node(top).waitFor();
    await page.getByTestId('relabel').click();
    await page.getByTestId('relabel-disk').selectOption(top);
    await page.getByTestId('relabel-driver').selectOption('dac');
    await page.locator('[data-testid="preview"][data-state="ready"]').waitFor();
    const refusal = page.getByTestId('refusal');
    await refusal.first().waitFor();
    expect(await refusal.first().textContent()).toContain(`data file ${data} is outside the allowed folders`);
    expect(await page.getByTestId('apply').isDisabled()).toBe(true);
    await shot('refused');
    expect(snapshot([top, data])).toBe(before);
  });

  it('opens a folder as its forest; its tops open into the chain graph, a shared base drawn once', async () => {
    await page.keyboard.press('Escape');
    const dir = path.join(tmp.dir, 'shared');
    fs.mkdirSync(dir);
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '8M');
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm1.qcow2');
    qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'vm2.qcow2');
    await page.getByTestId('open-path').fill(dir);
    await page.keyboard.press('Enter');
    const forestNode = (p: string) => page.locator(`[data-testid="forest-node"][data-path="${p}"]`);
    await expect.poll(() => page.getByTestId('forest-node').count(), { timeout: 20_000 }).toBe(3);
    expect(await forestNode(path.join(dir, 'base.qcow2')).getAttribute('data-kind')).toBe('base');
    await forestNode(path.join(dir, 'vm1.qcow2')).dblclick();
    await node(path.join(dir, 'vm1.qcow2')).waitFor();
    await page.getByTestId('view-forest').click();
    await forestNode(path.join(dir, 'vm2.qcow2')).dblclick();
    await node(path.join(dir, 'vm2.qcow2')).waitFor();
    expect(await node(path.join(dir, 'base.qcow2')).count()).toBe(1);
    expect(await node(path.join(dir, 'base.qcow2')).getAttribute('data-role')).toBe('backing');
    expect(await node(path.join(dir, 'vm1.qcow2')).getAttribute('data-role')).toBe('image');
    expect(await node(path.join(dir, 'vm2.qcow2')).getAttribute('data-role')).toBe('image');
    await page.locator(`[data-testid="disk-item"][data-path="${chain.top}"] button[aria-label^="close"]`).click();
    await page
      .locator(`[data-testid="disk-item"][data-path="${path.join(tmp.dir, 'other-vm/vm.qcow2')}"] button[aria-label^="close"]`)
      .click();
    await expect.poll(() => page.getByTestId('chain-node').count()).toBe(3);
    await shot('shared-base');
    await page.getByTestId('theme').click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await node(path.join(dir, 'base.qcow2')).click();
    await shot('dark');
  });

  it('raised no script errors or CSP violations on the way', () => {
    expect(problems).toEqual([]);
  });

  it('leaves the page no way to Node or the files but the contract', async () => {
    const r = await page.evaluate(async (token) => {
      const w = window as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = {
        require: typeof w.require,
        process: typeof w.process,
        module: typeof w.module,
        Buffer: typeof w.Buffer,
        diskchain: typeof w.diskchain,
      };
      // No eval, no inline script: the policy the page runs under (tests' own evaluate is exempt).
      out.csp = (await fetch(location.href)).headers.get('content-security-policy');
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.body.appendChild(s);
      out.injected = w.injected ?? false;
      try {
        await fetch('file:///etc/passwd');
        out.file = 'read';
      } catch {
        out.file = 'refused';
      }
      out.traversal = (await fetch(`/${token}/..%2f..%2f..%2fetc%2fpasswd`)).status;
      out.otherPort = await fetch('http://127.0.0.1:1/').then(
        () => 'reached',
        () => 'refused',
      );
      return out;
    }, serve.token);
    expect(r).toEqual({
      require: 'undefined',
      process: 'undefined',
      module: 'undefined',
      Buffer: 'undefined',
      diskchain: 'undefined',
      csp: expect.stringMatching(/^default-src 'none'; script-src 'self';/),
      injected: false,
      file: 'refused',
      traversal: 404,
      otherPort: 'refused',
    });
    // Its one door refuses what the contract does not name.
    const answer = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => ws.send(JSON.stringify({ id: 7, channel: 'readFile', payload: { path: '/etc/shadow' } }));
          ws.onmessage = (m) => resolve(String(m.data));
        }),
      serve.url.replace('http:', 'ws:') + 'ws',
    );
    expect(JSON.parse(answer)).toMatchObject({ id: 7, ok: false, error: expect.stringMatching(/unknown request/) });
  });
});
