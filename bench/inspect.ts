// Inspecting the 1,000-deep chain, against issue 14's goals, with qemu-img as the anchor:
// - the CLI as a whole process is at most 0.5x `qemu-img info --backing-chain` (paired runs:
//   each CLI run beside a qemu-img run, so the machine's load weighs on both alike);
// - in-process and warm, inspect() takes at most 25 ms.
// Node parses the NODE_EXTRA_CA_CERTS bundle at every start, which has nothing to do with
// inspect: the processes run with it unset (and the output says so).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChainNode } from '../shared/model.js';
import { inspect } from '../electron/node/core/chain.js';
import { qemuInfoChain } from '../electron/node/core/qemu-info.js';
import { benchCorpus, type Corpus } from './corpus.js';
import { fmt, median, timeIt } from './stats.js';

// DISKCHAIN_BENCH_CLI: another build of the CLI (a copy of an earlier tree's dist/electron, to compare).
const CLI = process.env.DISKCHAIN_BENCH_CLI ?? path.resolve(import.meta.dirname, '../dist/electron/cli.js');
const GOAL_CLI_OF_QEMU = 0.5;
const GOAL_WARM_MS = 25;
const PAIRS = 15;

const ENV = { ...process.env };
delete ENV.NODE_EXTRA_CA_CERTS;

/** CPU time in ms of this process's waited-for children so far (cutime + cstime of /proc/self/stat). */
function childrenCpuMs(): number {
  const stat = fs.readFileSync('/proc/self/stat', 'latin1');
  // Fields after the command name, which may hold spaces: the 14th and 15th of them.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLOCK_TICKS;
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

interface Run {
  wall: number;
  cpu: number;
}

/** Wall and CPU time in ms of one process run to its end, stdout discarded; throws if it fails. */
function runOnce(cmd: string, args: string[], cwd: string): Run {
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return { wall, cpu: childrenCpuMs() - c0 };
}

/**
 * Each command's median wall and CPU time, and the medians over pairs of `cmd / anchor`. CPU
 * time (10 ms ticks, so a median over many pairs) is what the load of others weighs least on.
 */
function paired(cmd: [string, string[]], anchor: [string, string[]], cwd: string) {
  const mine: Run[] = [];
  const theirs: Run[] = [];
  runOnce(...cmd, cwd);
  runOnce(...anchor, cwd);
  for (let i = 0; i < PAIRS; i++) {
    // Alternate which goes first, so neither always runs on a cache the other warmed.
    if (i % 2) {
      theirs.push(runOnce(...anchor, cwd));
      mine.push(runOnce(...cmd, cwd));
    } else {
      mine.push(runOnce(...cmd, cwd));
      theirs.push(runOnce(...anchor, cwd));
    }
  }
  const ratio = (k: keyof Run) => median(mine.map((m, i) => m[k] / Math.max(theirs[i]![k], 1)));
  const of = (runs: Run[], k: keyof Run) => median(runs.map((r) => r[k]));
  return {
    mine: of(mine, 'wall'),
    anchor: of(theirs, 'wall'),
    ratio: ratio('wall'),
    mineCpu: of(mine, 'cpu'),
    anchorCpu: of(theirs, 'cpu'),
    cpuRatio: ratio('cpu'),
  };
}

/**
 * Median wall and CPU time in ms of `fn` over `runs` runs after a few warm-ups. On a loaded
 * machine wall time mostly measures the other processes; CPU time (this process's threads,
 * the JIT's included) does not.
 */
function warmTimes(runs: number, fn: () => void): { wall: number; cpu: number } {
  for (let i = 0; i < 5; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const layers = (top: ChainNode) => {
  let n = 0;
  for (let x: ChainNode | null = top; x; x = x.backing) n++;
  return n;
};

export function benchInspect(c: Corpus): void {
  if (layers(inspect(c.deepTop)) !== 1000) throw new Error(`expected a 1000-deep chain at ${c.deepTop}`);
  const top = path.basename(c.deepTop);
  const qemu: [string, string[]] = ['qemu-img', ['info', '--backing-chain', '--output=json', top]];
  const warm = warmTimes(30, () => inspect(c.deepTop));
  const warmQemu = timeIt(10, () => qemuInfoChain(c.deepTop));
  const cli = paired([process.execPath, [CLI, 'inspect', '--json', top]], qemu, c.deep);
  const cliText = paired([process.execPath, [CLI, 'inspect', top]], qemu, c.deep);
  const cliQemu = paired([process.execPath, [CLI, 'inspect', '--qemu-json', top]], qemu, c.deep);
  const ratio = (x: number, goal: number) => `${(x / goal).toFixed(2)}x of the goal`;
  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  console.log(`inspect: the 1,000-deep chain (medians; processes run with NODE_EXTRA_CA_CERTS unset; ${PAIRS} pairs; load ${load})`);
  console.log(`  in-process inspect(), warm        ${fmt(warm.wall)} (CPU ${fmt(warm.cpu)})   ${ratio(warm.wall, GOAL_WARM_MS)} (25 ms)`);
  console.log(`  in-process qemuInfoChain(), warm  ${fmt(warmQemu)}`);
  for (const [what, r] of [
    ['CLI inspect --json     ', cli],
    ['CLI inspect (text)     ', cliText],
    ['CLI inspect --qemu-json', cliQemu],
  ] as const) {
    console.log(
      `  ${what}         ${fmt(r.mine)}, qemu-img info --backing-chain ${fmt(r.anchor)}: ${r.ratio.toFixed(2)}x qemu-img   ${ratio(r.ratio, GOAL_CLI_OF_QEMU)} (0.5x qemu-img)`,
    );
    console.log(`    CPU                              ${fmt(r.mineCpu)}, qemu-img ${fmt(r.anchorCpu)}: ${r.cpuRatio.toFixed(2)}x qemu-img`);
  }
}

// `node --import tsx bench/inspect.ts`: this part of the bench alone, on the CLI as last built
// (`npm run build`, or DISKCHAIN_BENCH_CLI).
if (import.meta.url === `file://${process.argv[1]}`) benchInspect(benchCorpus());
