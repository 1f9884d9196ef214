// diskchain's command line: each command lives in its own module and registers itself here.
// Modules load on demand, so `diskchain inspect` does not compile the server or the relabel engine.
import { Command } from 'commander';
import { warn } from './output.js';
import { errorText } from '../../../shared/error-text.js';

type Register = (program: Command) => void;

const MODULES: Record<string, () => Promise<Register>> = {
  inspect: () => import('./inspect.js').then((m) => m.registerInspect),
  scan: () => import('./scan.js').then((m) => m.registerScan),
  relabel: () => import('./relabel.js').then((m) => m.registerRelabel),
  serve: () => import('./serve.js').then((m) => m.registerServe),
  domain: () => import('./domain.js').then((m) => m.registerDomain),
  export: () => import('./export.js').then((m) => m.registerExport),
  'check-access': () => import('./check-access.js').then((m) => m.registerCheckAccess),
  'install-helper': () => import('./install-helper.js').then((m) => m.registerInstallHelper),
  why: () => import('./why.js').then((m) => m.registerWhy),
  agent: () => import('./agent.js').then((m) => m.registerAgent),
  hosts: () => import('./hosts.js').then((m) => m.registerHosts),
};
/** Which module registers each command. */
const COMMANDS: Record<string, keyof typeof MODULES> = {
  inspect: 'inspect',
  scan: 'scan',
  serve: 'serve',
  relabel: 'relabel',
  restore: 'relabel',
  undo: 'relabel',
  recover: 'relabel',
  domain: 'domain',
  export: 'export',
  'check-access': 'check-access',
  'install-helper': 'install-helper',
  'uninstall-helper': 'install-helper',
  why: 'why',
  agent: 'agent',
  hosts: 'hosts',
};

const program = new Command('diskchain')
  .description('Show and fix the files of VM disk chains: backing images, qcow2 data files, owners and labels')
  .showHelpAfterError()
  .addHelpText('after', '\nOn another host: diskchain -H ssh://[user@]host[:port] COMMAND ... runs COMMAND there through ssh.');

/** `-H URL` / `--host URL` before the command (serve has its own --host after it). */
function remoteHost(argv: string[]): { url: string; rest: string[] } | null {
  const a = argv[2] ?? '';
  if (a === '-H' || a === '--host') return argv[3] ? { url: argv[3], rest: argv.slice(4) } : null;
  if (a.startsWith('--host=')) return { url: a.slice(7), rest: argv.slice(3) };
  if (a.startsWith('-H') && a.length > 2) return { url: a.slice(2), rest: argv.slice(3) };
  return null;
}

async function main(): Promise<void> {
  const remote = remoteHost(process.argv);
  if (remote) {
    const [{ parseHostSpec }, { runRemote }] = await Promise.all([import('../remote/host-spec.js'), import('../remote/run-remote.js')]);
    process.exitCode = await runRemote(parseHostSpec(remote.url), remote.rest);
    return;
  }
  const wanted = COMMANDS[process.argv[2] ?? ''];
  // Help, a typo, or no command: register everything so commander can list and suggest.
  const names = wanted ? [wanted] : [...new Set(Object.values(COMMANDS))];
  for (const register of await Promise.all(names.map((n) => MODULES[n]!()))) register(program);
  await program.parseAsync(process.argv);
}

main().catch((e: unknown) => {
  warn(`diskchain: ${errorText(e)}`);
  process.exit(1);
});
