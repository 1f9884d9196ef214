// `diskchain hosts add [ssh://…] [--copy-agent]`, `hosts list [--json]`, `hosts remove ID|URL`:
// the hosts the app and the CLI know. `add` also imports libvirt's and virt-manager's qemu+ssh
// connections, and shows an unknown host key's fingerprint before trusting it (--trust-key).
import type { Command } from 'commander';
import { connectAgent, RemoteError } from '../remote/connection.js';
import { parseHostSpec, type HostSpec } from '../remote/host-spec.js';
import { scanHostKeys, trustHostKeys } from '../remote/hostkey.js';
import { addHosts, importedHosts, listHosts, removeHost } from '../remote/hosts-store.js';
import { installRemoteAgent } from '../remote/install.js';
import { textLines, writeOut } from './output.js';

/** Connect once: a typed refusal is reported, and for an unknown key the fingerprint is shown. */
async function probe(spec: HostSpec, trustKey: boolean, copyAgent: boolean): Promise<string> {
  try {
    const c = await connectAgent(spec);
    await c.close();
    return `${spec.id}: connected (agent ${c.hello?.version})`;
  } catch (e) {
    if (!(e instanceof RemoteError)) throw e;
    if (e.code === 'unknown-host-key') {
      const keys = scanHostKeys(spec);
      const shown = `${spec.id}: host key not known yet; its fingerprints:\n${keys.fingerprints.map((f) => `  ${f}`).join('\n')}`;
      if (!trustKey) return `${shown}\ncheck them with the host's owner, then run again with --trust-key`;
      const file = trustHostKeys(spec, keys);
      return `${shown}\ntrusted: added to ${file}\n${await probe(spec, false, copyAgent)}`;
    }
    if (e.code === 'agent-missing' && copyAgent) {
      await installRemoteAgent(spec);
      return probe(spec, false, false);
    }
    return `${spec.id}: ${e.code}: ${e.message}`;
  }
}

export function registerHosts(program: Command): void {
  const hosts = program.command('hosts').description('the remote hosts diskchain knows (kept in ~/.config/diskchain/hosts.json)');
  hosts
    .command('add')
    .description("add a host, and import libvirt's and virt-manager's qemu+ssh connections")
    .argument('[url]', 'ssh://[user@]host[:port]')
    .option('--copy-agent', 'copy the agent bundle there when the host has no diskchain')
    .option('--trust-key', 'trust an unknown host key (its fingerprint is printed)')
    .option('--no-connect', 'only record the host')
    .action(async (url: string | undefined, opts: { copyAgent?: boolean; trustKey?: boolean; connect: boolean }) => {
      const given = url ? [parseHostSpec(url)] : [];
      const added = addHosts([...given, ...importedHosts()]);
      const out = added.map((h) => `added ${h.id}`);
      if (opts.connect) for (const s of given) out.push(await probe(s, !!opts.trustKey, !!opts.copyAgent));
      await writeOut(`${textLines(out.length ? out : ['no new hosts'])}\n`);
    });
  hosts
    .command('list')
    .description('the hosts kept')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = listHosts();
      await writeOut(
        opts.json ? `${JSON.stringify(list, null, 2)}\n` : `${textLines(list.map((h) => `${h.id} ${h.spec} ${h.addedAt}`))}\n`,
      );
    });
  hosts
    .command('remove')
    .description('forget a host')
    .argument('<host>', 'its id (user@host:port) or URL')
    .action((host: string) => {
      if (!removeHost(host)) throw new Error(`no host ${host}`);
    });
}
