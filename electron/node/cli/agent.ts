// `diskchain agent --stdio`: the session's contract over JSON lines, for a diskchain client at the
// other end of ssh (electron/node/remote/agent.ts). `diskchain agent --install-remote ssh://…`
// copies this diskchain's agent bundle to a host that has none.
import type { Command } from 'commander';
import { runAgent } from '../remote/agent.js';
import { parseHostSpec } from '../remote/host-spec.js';
import { installRemoteAgent } from '../remote/install.js';
import { VERSION } from './version.js';

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('serve a diskchain client over stdin/stdout (started by diskchain itself through ssh)')
    .option('--stdio', 'speak the agent protocol on stdin and stdout')
    .option('--install-remote <ssh-url>', 'copy the agent bundle to ~/.local/share/diskchain on that host')
    .action(async (opts: { stdio?: boolean; installRemote?: string }) => {
      if (opts.installRemote) {
        const spec = parseHostSpec(opts.installRemote);
        const where = await installRemoteAgent(spec);
        process.stdout.write(`copied the diskchain agent to ${spec.id}:${where}\n`);
        return;
      }
      if (!opts.stdio) throw new Error('agent needs --stdio (or --install-remote ssh://HOST)');
      process.exitCode = await runAgent({ version: VERSION });
    });
}
