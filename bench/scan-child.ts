// Runs one scan in a fresh process, so its time and peak RSS are the scan's alone.
import { scan } from '../electron/node/core/scan.js';

const roots = process.argv.slice(2);
const t0 = performance.now();
const r = scan(roots);
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, summary: r.summary }) + '\n');
