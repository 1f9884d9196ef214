// Shared by the UI tests: qemu-img chains, the built renderer, `diskchain serve` as a child
// process, Debian's chromium, and reading owners and labels straight from the files.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeChain as makeSharedChain, type Chain as SharedChain } from '../support/chain.js';
import { stateDir } from '../support/state.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHOTS = path.join(ROOT, 'test-results/ui');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

function newestMtime(dir: string): number {
  let newest = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  }
  return newest;
}

/**
 * A build of the current renderer: dist/renderer when it is newer than every source it is made
 * from, else a fresh `vite build` into test-results (never racing the real build's folder).
 */
export function rendererDir(): string {
  // A build of one's choosing (a development build, to read React's full errors).
  if (process.env.DISKCHAIN_TEST_RENDERER) return path.resolve(process.env.DISKCHAIN_TEST_RENDERER);
  const dist = path.join(ROOT, 'dist/renderer');
  const sources = Math.max(
    newestMtime(path.join(ROOT, 'renderer')),
    newestMtime(path.join(ROOT, 'shared')),
    fs.statSync(path.join(ROOT, 'vite.config.ts')).mtimeMs,
  );
  const fresh = (d: string) => fs.existsSync(path.join(d, 'index.html')) && fs.statSync(path.join(d, 'index.html')).mtimeMs >= sources;
  if (fresh(dist)) return dist;
  const own = path.join(ROOT, 'test-results/renderer');
  if (fresh(own)) return own;
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn', '--outDir', own, '--emptyOutDir'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  return own;
}

export interface ServeProcess {
  url: string;
  token: string;
  origin: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `diskchain serve ARGS` from source; resolves once the first line (the URL) is out. */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'electron/node/cli/main.ts'), 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s; stderr: ${err}`)), 30_000);
    proc.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const url = out.slice(0, nl);
      const u = new URL(url);
      resolve({
        url,
        token: u.pathname.split('/')[1]!,
        origin: u.origin,
        proc,
        stderr: () => err,
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null) return done();
            proc.once('exit', () => done());
            proc.kill('SIGTERM');
            setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
          }),
      });
    });
  });
}

export type Chain = Required<SharedChain>;

/** top → mid → base, each qcow2 with its own external data file (absolute names). */
export function makeChain(dir: string, prefix = ''): Chain {
  return makeSharedChain(dir, { prefix, names: 'absolute', dataEverywhere: true, size: '16M' }) as Chain;
}

export function owner(file: string): string {
  const st = fs.statSync(file);
  return `${st.uid}:${st.gid}`;
}

export function xattr(file: string, name: string): string | null {
  try {
    return execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', name, file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).replace(/\0$/, '');
  } catch {
    return null;
  }
}

export function setXattr(file: string, name: string, value: string): void {
  execFileSync('setfattr', ['-n', name, '-v', value, file]);
}

export function selinux(file: string): string | null {
  return xattr(file, 'security.selinux');
}

/** Everything a relabel may touch, for "nothing changed" checks. */
export function snapshot(files: string[]): string {
  return JSON.stringify(
    files.map((f) => {
      const list = execFileSync('getfattr', ['--absolute-names', '-d', '-m', '-', f], { encoding: 'utf8' });
      const st = fs.statSync(f);
      return [f, st.uid, st.gid, st.mode, list];
    }),
  );
}

/** A 1600×1000 page that records console errors and page errors into `problems`. */
export async function watchedPage(
  browser: Browser,
  problems: string[],
  permissions: { names: string[]; origin: string } | null = null,
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  if (permissions) await context.grantPermissions(permissions.names, { origin: permissions.origin });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
  return page;
}

/** A UI test's teardown: the browser, the server, the folder. */
export async function closeAll(
  browser: Browser | undefined,
  serve: ServeProcess | undefined,
  tmp: { cleanup: () => void } | undefined,
): Promise<void> {
  await browser?.close();
  await serve?.stop();
  tmp?.cleanup();
}

/**
 * `diskchain serve` for a VM whose qemu.conf names user and group +107 (written into `dir`), with
 * the built renderer and a journal folder of its own; and a watched page on it.
 */
export async function serveForVm107(
  dir: string,
  problems: string[],
  args: string[] = [],
): Promise<{ serve: ServeProcess; browser: Browser; page: Page }> {
  const conf = path.join(dir, 'qemu.conf');
  fs.writeFileSync(conf, 'user = "+107"\ngroup = "+107"\n');
  const serve = await startServe(['--port', '0', ...args], {
    DISKCHAIN_RENDERER_DIR: rendererDir(),
    DISKCHAIN_STATE_DIR: stateDir(),
    DISKCHAIN_QEMU_CONF: conf,
  });
  const browser = await launchChromium();
  return { serve, browser, page: await watchedPage(browser, problems) };
}
