// diskchain's command line: each command lives in its own module and registers itself here.
import { Command } from 'commander';
import { registerInspect } from './inspect.js';
import { registerServe } from './serve.js';
import { registerRelabel } from './relabel.js';
import { registerScan } from './scan.js';

const program = new Command('diskchain')
  .description('Show and fix the files of VM disk chains: backing images, qcow2 data files, owners and labels')
  .showHelpAfterError();

registerInspect(program);
registerServe(program);
registerRelabel(program);
registerScan(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`diskchain: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
