// Run the built CLI (dist/electron/cli.js) as a user would; the global setup builds it.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as path from 'node:path';

export const CLI = path.resolve(import.meta.dirname, '../../dist/electron/cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runCli(args: string[], opts: SpawnSyncOptions = {}): CliResult {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20, ...opts });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0 };
}
