// Runs one scan in a fresh process, so its time and peak RSS are the scan's alone. bench/scan.ts
// bundles this file (with the scan's worker beside it) as the CLI ships, so no TypeScript loader
// runs in the process measured; the worker threads' start is inside the time.
import { scan } from '../electron/node/core/scan.js';

const roots = process.argv.slice(2);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const r = scan(roots);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKiB: process.resourceUsage().maxRSS, summary: r.summary }) + '\n',
);
