// `diskchain serve` refuses what does not come from its own page: no or a wrong token, another
// Origin, another host name, and requests that break the IPC contract.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { channels, parseRequest } from '../../shared/ipc.js';
import { startServe as startInProcess, type Served } from '../../electron/node/serve/http.js';
import { tempDir } from '../support/qemu.js';
import { makeChain, snapshot, startServe, type Chain } from './helpers.js';
import { stateDir } from '../support/state.js';

interface Reply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Open a WebSocket; resolves with it open, or rejects with the HTTP status of the refusal. */
function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Send raw text; resolves with the first message, or `closed <code>` when the server hangs up. */
function exchange(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    const onMsg = (d: WebSocket.RawData) => {
      ws.off('close', onClose);
      resolve(d.toString());
    };
    const onClose = (code: number) => {
      ws.off('message', onMsg);
      resolve(`closed ${code}`);
    };
    ws.once('message', onMsg);
    ws.once('close', onClose);
    ws.send(text);
  });
}

async function call(ws: WebSocket, channel: string, payload: unknown, id = 1): Promise<any> {
  return JSON.parse(await exchange(ws, JSON.stringify({ id, channel, payload })));
}

describe('the IPC contract', () => {
  it('refuses unknown channels and payloads that do not fit', () => {
    expect(() => parseRequest('readFile', { path: '/etc/shadow' })).toThrow(/unknown request/);
    expect(() => parseRequest('__proto__', {})).toThrow(/unknown request/);
    expect(() => parseRequest('open', { paths: ['/tmp/a\0b'] })).toThrow(/NUL/);
    expect(() => parseRequest('open', { paths: [] })).toThrow(/no path/);
    expect(() => parseRequest('open', { paths: '/tmp/a' })).toThrow();
    expect(() => parseRequest('open', { paths: ['/a'], extra: 1 })).toThrow();
    const profile = { drivers: ['dac'], user: '+107', group: '+107', readonly: false, shareable: false };
    expect(parseRequest('plan', { action: 'relabel', top: '/x', profile })).toMatchObject({ top: '/x' });
    // The folders that may change are the owner's to decide, never the page's.
    expect(() => parseRequest('plan', { action: 'relabel', top: '/x', profile: { ...profile, allowRoots: ['/'] } })).toThrow();
    expect(() => parseRequest('plan', { action: 'relabel', top: '/x', profile: { ...profile, openedFolders: ['/etc'] } })).toThrow();
    expect(() => parseRequest('plan', { action: 'chmod', top: '/x', profile })).toThrow();
    expect(() => parseRequest('plan', { action: 'relabel', top: '/x', profile: { ...profile, user: 'root; rm -rf /' } })).toThrow(
      /name or \+N/,
    );
    expect(() => parseRequest('plan', { action: 'relabel', top: '/x', profile: { ...profile, drivers: ['dac', 'dac'] } })).toThrow(/twice/);
    expect(() => parseRequest('plan', { action: 'relabel', top: '/x', profile: { ...profile, imageLabel: 'not a label' } })).toThrow(
      /SELinux/,
    );
    // Apply takes only the id of a plan the owner made: never a plan from the page.
    expect(() => parseRequest('apply', { planId: 'x', plan: {} })).toThrow();
    expect(() => parseRequest('apply', { planId: '../../etc' })).toThrow();
    for (const c of Object.keys(channels)) expect(() => parseRequest(c, null)).toThrow();
  });
});

describe('diskchain serve', () => {
  let tmp: { dir: string; cleanup: () => void };
  let served: Served;
  let chain: Chain;
  let wsUrl: string;
  let origin: string;

  beforeAll(async () => {
    tmp = tempDir('diskchain-ui-sec-');
    // Journals of this run stay in its folder, not in /var/lib/diskchain.
    process.env.DISKCHAIN_STATE_DIR = stateDir();
    const renderer = path.join(tmp.dir, 'renderer');
    fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>diskchain</title>');
    fs.writeFileSync(path.join(renderer, 'assets/app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(tmp.dir, 'secret.txt'), 'secret');
    fs.mkdirSync(path.join(tmp.dir, 'images'));
    chain = makeChain(path.join(tmp.dir, 'images'));
    served = await startInProcess({ rendererDir: renderer, version: 'test', paths: [] });
    origin = `http://127.0.0.1:${served.port}`;
    wsUrl = `ws://127.0.0.1:${served.port}/${served.token}/ws`;
  });

  afterAll(async () => {
    await served?.close();
    tmp?.cleanup();
  });

  it('serves the page only under the token', async () => {
    expect((await get(served.port, `/${served.token}/`)).status).toBe(200);
    expect((await get(served.port, `/${served.token}/assets/app.js`)).body).toContain('console.log');
    const ok = await get(served.port, `/${served.token}/`);
    expect(ok.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(ok.headers['content-security-policy']).not.toMatch(/unsafe/);
    expect((await get(served.port, '/')).status).toBe(403);
    expect((await get(served.port, '/index.html')).status).toBe(403);
    expect((await get(served.port, '/assets/app.js')).status).toBe(403);
    expect((await get(served.port, `/${served.token.slice(0, -1)}x/`)).status).toBe(403);
    expect((await get(served.port, `/${served.token}x/`)).status).toBe(403);
    expect((await get(served.port, `/?token=${served.token}`)).status).toBe(403);
  });

  it('never leaves the renderer folder', async () => {
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/%00',
      '/..\\secret.txt',
    ]) {
      const r = await get(served.port, `/${served.token}${p}`);
      expect(r.status, p).not.toBe(200);
      expect(r.body).not.toContain('secret');
    }
    expect((await get(served.port, `/${served.token}/`, {}, 'POST')).status).toBe(405);
  });

  it('refuses other origins and other host names', async () => {
    expect((await get(served.port, `/${served.token}/`, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await get(served.port, `/${served.token}/`, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    // DNS rebinding: a name that resolves to us, but is not ours.
    expect((await get(served.port, `/${served.token}/`, { host: `evil.example:${served.port}` })).status).toBe(421);
    // Through an SSH tunnel the port differs, the page is still its own origin.
    expect((await get(served.port, `/${served.token}/`, { host: 'localhost:9999', origin: 'http://localhost:9999' })).status).toBe(200);
  });

  it('opens the WebSocket only with the token, from its own origin', async () => {
    await expect(connect(`ws://127.0.0.1:${served.port}/ws`, { origin })).rejects.toThrow(/403/);
    await expect(connect(`ws://127.0.0.1:${served.port}/nottoken/ws`, { origin })).rejects.toThrow(/403/);
    await expect(connect(wsUrl, {})).rejects.toThrow(/403/);
    await expect(connect(wsUrl, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(connect(wsUrl, { origin: `http://127.0.0.1:${served.port + 1}` })).rejects.toThrow(/403/);
    await expect(connect(wsUrl, { origin: 'null' })).rejects.toThrow(/403/);
    const ws = await connect(wsUrl, { origin });
    const info = await call(ws, 'info', {});
    expect(info).toMatchObject({ type: 'result', id: 1, ok: true, value: { mode: 'serve' } });
    ws.close();
  });

  it('answers contract breaches with a refusal, and garbage by hanging up', async () => {
    const ws = await connect(wsUrl, { origin });
    expect(await call(ws, 'readFile', { path: '/etc/shadow' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/unknown request/),
    });
    expect(await call(ws, 'open', { paths: ['/etc/shadow'], extra: true })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/refused open/),
    });
    expect(await call(ws, 'open', { paths: ['relative/path.qcow2'] })).toMatchObject({
      ok: true,
      value: { disks: [], errors: [{ message: expect.stringMatching(/absolute path/) }] },
    });
    const profile = { drivers: ['dac'], user: '+107', group: '+107', readonly: false, shareable: false };
    // A plan starts only from a disk the user opened.
    expect(await call(ws, 'plan', { action: 'relabel', top: chain.top, profile })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not an open disk/),
    });
    expect(await call(ws, 'plan', { action: 'relabel', top: chain.top, profile: { ...profile, allowRoots: ['/'] } })).toMatchObject({
      ok: false,
    });
    expect(await call(ws, 'apply', { planId: 'no-such-plan' })).toMatchObject({ ok: false, error: expect.stringMatching(/out of date/) });
    // A domain's profile is named by the id this process gave it, never sent by the page.
    expect(await call(ws, 'plan', { action: 'relabel', top: chain.top, profile, domain: 'domain-1' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/either a profile or an open domain/),
    });
    expect(await call(ws, 'plan', { action: 'relabel', top: chain.top })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/either a profile or an open domain/),
    });
    expect(await call(ws, 'domain', { file: '/etc/passwd', virsh: 'vm1' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/one of a file/),
    });
    expect(await call(ws, 'domain', { virsh: 'vm1; rm -rf /' })).toMatchObject({ ok: false, error: expect.stringMatching(/domain name/) });
    expect(await call(ws, 'domain', { reopen: 'domain-unknown' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/no longer open/),
    });
    expect(await call(ws, 'domain', { text: '<!DOCTYPE d [<!ENTITY x "y">]><domain/>' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/DOCTYPE|entit/i),
    });
    expect(await call(ws, 'export', { top: chain.top, kind: 'libvirt-xml' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not an open disk/),
    });
    expect(
      await call(ws, 'access', { top: chain.top, profile: { user: '+107', group: '+107', readonly: false, shareable: false } }),
    ).toMatchObject({ ok: false, error: expect.stringMatching(/not an open disk/) });
    expect(await call(ws, 'dialog', { kind: 'image' })).toMatchObject({ ok: false, error: expect.stringMatching(/type the path/) });
    expect(await exchange(ws, JSON.stringify({ id: 1, channel: 'info', payload: {}, extra: 1 }))).toBe('closed 1008');

    const ws2 = await connect(wsUrl, { origin });
    expect(await exchange(ws2, 'this is not JSON')).toBe('closed 1003');
    const ws3 = await connect(wsUrl, { origin });
    expect(await exchange(ws3, JSON.stringify({ id: -1, channel: 'info', payload: {} }))).toBe('closed 1008');
    const ws4 = await connect(wsUrl, { origin });
    expect(await exchange(ws4, 'x'.repeat(300 * 1024))).toMatch(/^closed 1009/);
  });

  it('refuses a plan that reaches outside the opened folders, and changes nothing', async () => {
    const outside = tempDir('diskchain-ui-outside-');
    const imgDir = tempDir('diskchain-ui-inside-');
    try {
      const { qemuImg } = await import('../support/qemu.js');
      const data = path.join(outside.dir, 'vm.data');
      const top = path.join(imgDir.dir, 'vm.qcow2');
      qemuImg(imgDir.dir, 'create', '-q', '-f', 'qcow2', '-o', `data_file=${data}`, top, '8M');
      const before = snapshot([top, data]);
      const ws = await connect(wsUrl, { origin });
      const opened = await call(ws, 'open', { paths: [top] }, 1);
      expect(opened.ok).toBe(true);
      const profile = { drivers: ['dac'], user: '+107', group: '+107', readonly: false, shareable: false };
      const plan = await call(ws, 'plan', { action: 'relabel', top, profile }, 2);
      expect(plan.ok).toBe(true);
      expect(plan.value.refusals).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: data, message: expect.stringMatching(/outside the allowed folders/) })]),
      );
      const applied = await call(ws, 'apply', { planId: plan.value.id }, 3);
      expect(applied).toMatchObject({ ok: false, error: expect.stringMatching(/nothing was changed.*outside the allowed folders/) });
      expect(snapshot([top, data])).toBe(before);
      // A domain's profile and folders serve its own disks only: another open image cannot borrow them.
      const xml = `<domain type='kvm'><name>d1</name><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${chain.top}'/><target dev='vda'/></disk></devices></domain>`;
      const dom = await call(ws, 'domain', { text: xml }, 4);
      expect(dom.ok).toBe(true);
      expect(await call(ws, 'plan', { action: 'relabel', top, domain: dom.value.id }, 5)).toMatchObject({
        ok: false,
        error: expect.stringMatching(/not a disk of domain d1/),
      });
      expect(await call(ws, 'access', { top, domain: dom.value.id }, 6)).toMatchObject({
        ok: false,
        error: expect.stringMatching(/not a disk of domain d1/),
      });
      expect(await call(ws, 'plan', { action: 'relabel', top: chain.top, domain: dom.value.id }, 7)).toMatchObject({ ok: true });
      ws.close();
    } finally {
      outside.cleanup();
      imgDir.cleanup();
    }
  });

  it('prints the URL with its token as the first line of stdout, on 127.0.0.1', async () => {
    const s = await startServe(['--port', '0', chain.top], {
      DISKCHAIN_RENDERER_DIR: path.join(tmp.dir, 'renderer'),
      DISKCHAIN_STATE_DIR: stateDir(),
    });
    try {
      expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
      const port = Number(new URL(s.url).port);
      expect((await get(port, `/${s.token}/`)).status).toBe(200);
      expect((await get(port, '/')).status).toBe(403);
      const ws = await connect(`ws://127.0.0.1:${port}/${s.token}/ws`, { origin: s.origin });
      const info = await call(ws, 'info', {});
      // The PATHs given are opened at start.
      expect(info.value.opened).toEqual([chain.top]);
      ws.close();
    } finally {
      await s.stop();
    }
  });
});
