// Scanning the pool in-process against the C floor (bench/floor/scan-floor.c: only the syscalls
// a scan needs, single-threaded), at 11,000 and 110,000 files, with peak RSS; and beside
// qemu-img over every overlay of the 11,000-file pool. The scan runs as built (esbuild, like the
// CLI), each run in a fresh process, its worker threads' start inside the time.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { listFiles } from '../electron/node/core/scan.js';
import { benchCorpus, corpusOf, type Corpus } from './corpus.js';
import { floorBinary } from './floor/build.js';
import { fmt, median } from './stats.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUILD = path.join(ROOT, '.bench/scan-build');
/** Peak RSS goal at 110,000 files, and the time goal as a multiple of the floor. */
const RSS_GOAL_MB = 250;
const FLOOR_GOAL = 4;

interface ChildRun {
  ms: number;
  cpuMs: number;
  maxRssKiB: number;
  summary: Record<string, number>;
}

/** scan-child.ts and the scan's worker bundled side by side, as scripts/build.mjs bundles the CLI. */
async function buildScan(): Promise<string> {
  await esbuild.build({
    entryPoints: { 'scan-child': 'bench/scan-child.ts', 'scan-worker': 'electron/node/core/scan-worker.ts' },
    absWorkingDir: ROOT,
    outdir: BUILD,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    external: ['koffi'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return path.join(BUILD, 'scan-child.js');
}

function scanOnce(child: string, pool: string): ChildRun {
  return JSON.parse(execFileSync(process.execPath, [child, pool], { encoding: 'utf8' }));
}

function floorOnce(floor: string, list: string): number {
  return (JSON.parse(execFileSync(floor, [list], { encoding: 'utf8' })) as { ms: number }).ms;
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

/** Floor and scan, alternated run by run so a change in the machine's load hits both alike. */
function againstFloor(child: string, floor: string, pool: string, runs: number): { scan: ChildRun[]; floorMs: number[] } {
  const list = path.join(BUILD, `list-${path.basename(path.dirname(pool))}.txt`);
  fs.writeFileSync(list, listFiles([pool]).join('\n') + '\n');
  floorOnce(floor, list); // page cache warm for both
  const scan: ChildRun[] = [];
  const floorMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    floorMs.push(floorOnce(floor, list));
    scan.push(scanOnce(child, pool));
  }
  return { scan, floorMs };
}

function report(label: string, r: { scan: ChildRun[]; floorMs: number[] }, rssGoal: number | null): void {
  const ms = median(r.scan.map((s) => s.ms));
  const cpu = median(r.scan.map((s) => s.cpuMs));
  const floor = median(r.floorMs);
  const rss = Math.max(...r.scan.map((s) => s.maxRssKiB)) / 1024;
  console.log(
    `\nscan: ${label} (median of ${r.scan.length}; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  console.log(`  summary                          ${JSON.stringify(r.scan[0]!.summary)}`);
  console.log(`  in-process scan                  ${fmt(ms)} (CPU of all threads ${fmt(cpu)})`);
  console.log(`  C floor (open, pread, fstat, xattrs) ${fmt(floor)}`);
  console.log(`  scan / floor                     ${(ms / floor).toFixed(1)}x   (goal <= ${FLOOR_GOAL}x)`);
  // The floor is one thread, so its time is its CPU: the CPU ratio holds when the machine is busy.
  console.log(`  scan CPU / floor                 ${(cpu / floor).toFixed(1)}x`);
  console.log(`  peak RSS of the scanning process ${rss.toFixed(0)} MB${rssGoal ? `   (goal <= ${rssGoal} MB)` : ''}`);
}

export async function benchScan(c: Corpus): Promise<void> {
  const child = await buildScan();
  const floor = floorBinary('scan-floor');
  const small = againstFloor(child, floor, c.pool, 5);
  report(`the ${small.scan[0]!.summary.files}-file pool`, small, null);
  const overlays = fs.readdirSync(c.pool).filter((f) => f.startsWith('vm'));
  const qemu = await qemuOverAll(c.pool, overlays);
  console.log(`  qemu-img info --backing-chain    ${fmt(qemu)} over ${overlays.length} overlays (2 at a time)`);
  console.log(`  qemu-img / scan                  ${(qemu / median(small.scan.map((s) => s.ms))).toFixed(0)}x   (goal >= 50x)`);

  const large = corpusOf(110_000);
  report('the 110,000-file pool', againstFloor(child, floor, large.pool, 3), RSS_GOAL_MB);
}

// `node --import tsx bench/scan.ts`: this part of the bench alone.
if (import.meta.url === `file://${process.argv[1]}`) await benchScan(benchCorpus());
