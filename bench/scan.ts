// Scanning the 11,000-file pool: in-process time and peak RSS, beside qemu-img over every overlay.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Corpus } from './corpus.js';
import { fmt, median } from './stats.js';

function scanOnce(pool: string): { ms: number; maxRssKiB: number; summary: Record<string, number> } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'scan-child.ts'), pool], {
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

/** qemu-img info --backing-chain on each overlay, two at a time (two cores). */
async function qemuOverAll(pool: string, overlays: string[]): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < overlays.length) {
      const f = overlays[next++]!;
      await new Promise<void>((resolve, reject) => {
        const p = spawn('qemu-img', ['info', '--backing-chain', '--output=json', f], { cwd: pool, stdio: 'ignore' });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`qemu-img info ${f} exited ${code}`))));
      });
    }
  };
  await Promise.all([worker(), worker()]);
  return performance.now() - t0;
}

export async function benchScan(c: Corpus): Promise<void> {
  const runs = [0, 1, 2, 3, 4].map(() => scanOnce(c.pool));
  const ms = median(runs.map((r) => r.ms));
  const rss = Math.max(...runs.map((r) => r.maxRssKiB)) / 1024;
  const overlays = fs.readdirSync(c.pool).filter((f) => f.startsWith('vm'));
  const qemu = await qemuOverAll(c.pool, overlays);
  console.log('\nscan: the 11,000-file pool');
  console.log(`  summary                          ${JSON.stringify(runs[0]!.summary)}`);
  console.log(`  in-process scan (median of 5)    ${fmt(ms)}   (goal < 1000 ms)`);
  console.log(`  peak RSS of the scanning process ${rss.toFixed(0)} MB   (goal < 300 MB)`);
  console.log(`  qemu-img info --backing-chain    ${fmt(qemu)} over ${overlays.length} overlays (2 at a time)`);
  console.log(`  qemu-img / scan                  ${(qemu / ms).toFixed(0)}x   (goal >= 50x)`);
}
