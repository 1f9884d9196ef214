// diskchain's command line: each command lives in its own module and registers itself here.
import { Command } from 'commander';
import { registerInspect } from './inspect.js';

const program = new Command('diskchain')
  .description('Show and fix the files of VM disk chains: backing images, qcow2 data files, owners and labels')
  .showHelpAfterError();

registerInspect(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`diskchain: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
