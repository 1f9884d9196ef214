// Inspecting the 1,000-deep chain: in-process, as a whole CLI process, and qemu-img beside it.
import * as path from 'node:path';
import { inspect } from '../electron/node/core/chain.js';
import { qemuInfoChain } from '../electron/node/core/qemu-info.js';
import type { Corpus } from './corpus.js';
import { fmt, timeIt, timeProcess } from './stats.js';

const CLI = path.resolve(import.meta.dirname, '../dist/electron/cli.js');

export function benchInspect(c: Corpus): void {
  const layers = (() => {
    let n = 0;
    for (let x = inspect(c.deepTop) as { backing: unknown } | null; x; x = x.backing as typeof x) n++;
    return n;
  })();
  if (layers !== 1000) throw new Error(`expected a 1000-deep chain, walked ${layers}`);
  const inproc = timeIt(20, () => inspect(c.deepTop));
  const inprocQemu = timeIt(20, () => qemuInfoChain(c.deepTop));
  const cli = timeProcess(10, process.execPath, [CLI, 'inspect', '--json', c.deepTop]);
  const cliQemu = timeProcess(10, process.execPath, [CLI, 'inspect', '--qemu-json', 'c999.qcow2'], c.deep);
  const qemu = timeProcess(5, 'qemu-img', ['info', '--backing-chain', '--output=json', 'c999.qcow2'], c.deep);
  console.log('inspect: the 1,000-deep chain (median wall time)');
  console.log(`  in-process inspect()            ${fmt(inproc)}   (goal < 50 ms)`);
  console.log(`  in-process qemuInfoChain()      ${fmt(inprocQemu)}`);
  console.log(`  CLI inspect --json              ${fmt(cli)}`);
  console.log(`  CLI inspect --qemu-json         ${fmt(cliQemu)}`);
  console.log(`  qemu-img info --backing-chain   ${fmt(qemu)}`);
  console.log(`  qemu-img / CLI --json           ${(qemu / cli).toFixed(1)}x   (goal > 1: the CLI is faster)`);
  console.log(`  qemu-img / CLI --qemu-json      ${(qemu / cliQemu).toFixed(1)}x`);
}
