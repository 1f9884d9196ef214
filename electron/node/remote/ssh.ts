// The command line for the system ssh: ~/.ssh/config, agents, ProxyJump, known_hosts and
// certificates keep working as users set them up. Host-key checking is never relaxed: an unknown
// key goes through the trust step (hostkey.ts), a changed one is refused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostSpec } from './host-spec.js';

export interface SshMode {
  /** The app relays prompts through its askpass (askpass.ts); the CLI never prompts. */
  askpass?: boolean;
}

/** The 0700 folder holding the ControlMaster sockets; made (and checked) on first use. */
export function controlDir(): string {
  const uid = process.getuid?.() ?? 0;
  const runtime = process.env.XDG_RUNTIME_DIR;
  const dir = runtime && path.isAbsolute(runtime) ? path.join(runtime, 'diskchain') : `/tmp/diskchain-${uid}`;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  // In /tmp another user could have made it first: use it only if it is ours and private.
  if (!st.isDirectory() || st.uid !== uid) throw new Error(`${dir} is not a folder of ours: remove it`);
  if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  return dir;
}

/** ssh's options (everything before the destination). */
export function sshOptions(spec: Pick<HostSpec, 'user' | 'port'>, mode: SshMode = {}): string[] {
  const args = ['-T', '-e', 'none'];
  const config = process.env.DISKCHAIN_SSH_CONFIG;
  if (config) args.push('-F', config);
  if (!mode.askpass) args.push('-o', 'BatchMode=yes');
  args.push(
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${path.join(controlDir(), 'cm-%C')}`,
    '-o',
    'ControlPersist=60',
    '-o',
    'ServerAliveInterval=10',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'StrictHostKeyChecking=yes',
  );
  if (spec.port) args.push('-p', String(spec.port));
  if (spec.user) args.push('-l', spec.user);
  return args;
}

/** The full argv after `ssh`: options, `--`, the host, and the remote command line. */
export function sshArgs(spec: HostSpec, remoteCommand: string, mode: SshMode = {}): string[] {
  return [...sshOptions(spec, mode), '--', spec.host, remoteCommand];
}

/** One argument for a POSIX shell on the remote. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Where the one-step copy puts the agent bundle on the remote (under the remote's $HOME). */
export const REMOTE_BUNDLE_DIR = '.local/share/diskchain';

/** Markers the remote command prints when it cannot start diskchain (exit status 127). */
export const NO_DISKCHAIN = 'diskchain-remote: diskchain not found';
export const NO_NODE = 'diskchain-remote: node not found';

/**
 * The shell line that runs `diskchain ARGS` on the remote: the installed command when it is on
 * PATH, else the copied bundle with the remote's own node; 127 with a marker when neither is there.
 */
export function remoteCommand(args: string[]): string {
  const q = args.map(shellQuote).join(' ');
  const bundle = `"$HOME"/${REMOTE_BUNDLE_DIR}/diskchain.mjs`;
  return [
    `if command -v diskchain >/dev/null 2>&1; then exec diskchain ${q}; fi`,
    `if [ ! -f ${bundle} ]; then echo '${NO_DISKCHAIN}' >&2; exit 127; fi`,
    `if ! command -v node >/dev/null 2>&1; then echo '${NO_NODE}' >&2; exit 127; fi`,
    `exec node ${bundle} ${q}`,
  ].join('; ');
}
