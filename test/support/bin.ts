// How the relabel tests start the CLI and the helper as processes: from source through tsx, so
// they do not depend on the build. Switch to dist/electron/{cli,helper}.js here if ever needed.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const TSX_LOADER = pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist/loader.mjs')).href;

export const CLI_SOURCE = path.join(ROOT, 'electron/node/cli/main.ts');
export const HELPER_SOURCE = path.join(ROOT, 'electron/node/helper/main.ts');

/** argv (after node itself) to run a TypeScript entry point. */
export function nodeArgsFor(script: string): string[] {
  return script.endsWith('.ts') ? ['--import', TSX_LOADER, script] : [script];
}

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run `diskchain ARGS` and wait for it. */
export function diskchain(args: string[], opts: SpawnSyncOptions & { env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(process.execPath, [...nodeArgsFor(CLI_SOURCE), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 256 << 20,
    ...opts,
    env: { ...process.env, ...opts.env },
  });
  return { status: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Start the helper process (the caller writes requests to its stdin). */
export function startHelper(env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, nodeArgsFor(HELPER_SOURCE), { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
}
