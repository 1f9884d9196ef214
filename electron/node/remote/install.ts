// The one-step copy of the agent bundle (dist/agent) to a remote that has no diskchain, as
// cockpit does with its bridge: a tar stream through ssh's stdin into ~/.local/share/diskchain.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifySshFailure, RemoteError } from './errors.js';
import type { HostSpec } from './host-spec.js';
import { REMOTE_BUNDLE_DIR, sshArgs } from './ssh.js';

/** dist/agent: beside the running bundle, or from source. DISKCHAIN_AGENT_BUNDLE overrides. */
export function findAgentBundle(from: string = import.meta.url): string | null {
  const here = path.dirname(fileURLToPath(from));
  const candidates = [
    process.env.DISKCHAIN_AGENT_BUNDLE,
    // Running as the agent bundle itself: copy ourselves.
    here,
    path.resolve(here, '../agent'),
    path.resolve(here, '../../../dist/agent'),
  ].filter((x): x is string => !!x);
  return candidates.find((d) => fs.existsSync(path.join(d, 'diskchain.mjs'))) ?? null;
}

/** Copy the bundle to the host; resolves when the remote tar has finished. */
export async function installRemoteAgent(spec: HostSpec, bundleDir = findAgentBundle()): Promise<string> {
  if (!bundleDir) throw new Error('the agent bundle (dist/agent/diskchain.mjs) is not built: run npm run build');
  const dest = `"$HOME"/${REMOTE_BUNDLE_DIR}`;
  const tar = spawn('tar', ['-C', bundleDir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ssh = spawn('ssh', sshArgs(spec, `umask 077 && mkdir -p ${dest} && tar -xf - -C ${dest}`), { stdio: ['pipe', 'ignore', 'pipe'] });
  tar.stdout.pipe(ssh.stdin);
  let stderr = '';
  ssh.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-16384)));
  const exited = (p: typeof tar | typeof ssh) => new Promise<number | null>((resolve) => p.once('close', (code) => resolve(code)));
  const [tarStatus, sshStatus] = await Promise.all([exited(tar), exited(ssh)]);
  if (sshStatus !== 0) {
    throw (
      classifySshFailure(spec.id, sshStatus, stderr) ??
      new RemoteError('failed', spec.id, `copying the agent to ${spec.id} failed: ${stderr.trim().slice(-300)}`)
    );
  }
  if (tarStatus !== 0) throw new RemoteError('failed', spec.id, `tar of ${bundleDir} failed with status ${tarStatus}`);
  return `~/${REMOTE_BUNDLE_DIR}/diskchain.mjs`;
}
