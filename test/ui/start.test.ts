// `npm start`'s logic (scripts/start.mjs): without a usable Electron it says why in one line on
// stderr and serves the same UI, the URL still the first line of stdout.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

describe('npm start', () => {
  it('falls back to serve with one line saying why', async (ctx) => {
    if (!fs.existsSync(path.join(ROOT, 'dist/electron/cli.js'))) return ctx.skip('dist/electron/cli.js is not built (npm run build)');
    const env: Record<string, string | undefined> = { ...process.env };
    // No display: Electron cannot start whether or not its runtime is installed.
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const proc = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs'), '--port', '0'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no URL; stderr: ${err}`)), 30_000);
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) {
            clearTimeout(t);
            resolve(out.split('\n')[0]!);
          }
        });
        proc.on('exit', (c) => reject(new Error(`exited ${c}: ${err}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]+\/$/);
      const first = err.split('\n')[0]!;
      expect(first).toMatch(/^diskchain: .*(Electron runtime is not installed|no display).*starting `diskchain serve` instead/);
      const res = await fetch(url);
      expect(res.status).toBe(200);
    } finally {
      await new Promise<void>((done) => {
        if (proc.exitCode !== null) return done();
        proc.once('exit', () => done());
        proc.kill('SIGTERM');
      });
    }
  });
});
