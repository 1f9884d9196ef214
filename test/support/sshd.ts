// Loopback "hosts" for the remote tests: a real OpenSSH sshd with its own config, host key and
// authorized keys on 127.0.0.N, started as a plain process (no system service, no PAM), and the
// client side as a config file the code under test gets through DISKCHAIN_SSH_CONFIG.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { letUidReach } from './reach.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Sshd {
  addr: string;
  port: number;
  dir: string;
  /** The host key's public line (`ssh-ed25519 AAAA…`). */
  hostKey: string;
  /** The listening sshd's pid. */
  pid: number;
  stop(): Promise<void>;
}

export interface SshClient {
  dir: string;
  /** The file to put in DISKCHAIN_SSH_CONFIG. */
  config: string;
  knownHosts: string;
  /** Per-client ControlMaster folder: set XDG_RUNTIME_DIR to it. */
  runtimeDir: string;
  /** The environment for a diskchain process acting as this client. */
  env: NodeJS.ProcessEnv;
  /** Add a host key to known_hosts. */
  trust(sshd: Sshd): void;
  /** Close the ControlMasters this client left (ControlPersist would keep them 60 s), remove its files. */
  close(): void;
}

/** A login user for key-only ssh: created once, unlocked without a password (`*`). */
export function sshUser(name: string): { name: string; home: string; uid: number } {
  if (spawnSync('id', ['-u', name]).status !== 0) execFileSync('useradd', ['-m', '-s', '/bin/sh', name]);
  execFileSync('usermod', ['-p', '*', name]);
  const home = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[5]!;
  fs.mkdirSync(home, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  // The agent stand-in runs this checkout's sources: a clone in `mktemp -d` (0700) must let it in.
  process.once('exit', letUidReach(uid, ROOT));
  return { name, home, uid };
}

/**
 * A stand-in for the agent bundle's diskchain.mjs: launches this checkout's CLI from source
 * (through tsx), so the tests need no build. `env` is set in its process before the CLI loads.
 */
export function sourceLauncher(env: Record<string, string> = {}): string {
  const tsx = path.join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');
  const lines = [
    ...Object.entries(env).map(([k, v]) => `process.env[${JSON.stringify(k)}] = ${JSON.stringify(v)};`),
    `await import(${JSON.stringify(`file://${tsx}`)});`,
    `await import(${JSON.stringify(`file://${path.join(ROOT, 'electron/node/cli/main.ts')}`)});`,
  ];
  return lines.join('\n') + '\n';
}

/** Put the source launcher where the one-step copy puts the bundle, for `user`. */
export function installSourceAgent(user: { name: string; home: string; uid: number }, env: Record<string, string> = {}): void {
  const dir = path.join(user.home, '.local/share/diskchain');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'diskchain.mjs'), sourceLauncher(env));
  execFileSync('chown', ['-R', `${user.uid}:${user.uid}`, path.join(user.home, '.local')]);
}

export function removeSourceAgent(user: { home: string }): void {
  fs.rmSync(path.join(user.home, '.local/share/diskchain'), { recursive: true, force: true });
}

/** A free TCP port on `addr` (bound and released: fine for a test). */
async function freePort(addr: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, addr, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function listening(addr: string, port: number, child: ChildProcess, log: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${fs.readFileSync(log, 'utf8')}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, addr, () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on ${addr}:${port} did not listen`);
}

/**
 * Start sshd on addr (on `port`, else a free one), letting in `users` with `clientKeyPub`;
 * `extraConfig` lines are appended to its sshd_config (e.g. `SetEnv PATH=…`).
 */
export async function startSshd(
  addr: string,
  users: string[],
  clientKeyPub: string,
  port?: number,
  extraConfig: string[] = [],
): Promise<Sshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-sshd-'));
  fs.mkdirSync('/run/sshd', { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_ed25519')]);
  // sshd reads authorized keys as the user logging in.
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'ak'), { mode: 0o755 });
  for (const u of users) fs.writeFileSync(path.join(dir, 'ak', u), clientKeyPub, { mode: 0o644 });
  port ??= await freePort(addr);
  const cfg = path.join(dir, 'sshd_config');
  const log = path.join(dir, 'sshd.log');
  fs.writeFileSync(
    cfg,
    [
      `ListenAddress ${addr}`,
      `Port ${port}`,
      `HostKey ${dir}/host_ed25519`,
      `PidFile ${dir}/sshd.pid`,
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${dir}/ak/%u`,
      'StrictModes no',
      'MaxSessions 10',
      ...extraConfig,
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/sshd', ['-D', '-f', cfg, '-E', log], { stdio: 'ignore' });
  await listening(addr, port, child, log);
  return {
    addr,
    port,
    dir,
    hostKey: fs.readFileSync(path.join(dir, 'host_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' '),
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The fields after the command's closing parenthesis: state, then the parent pid.
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

/**
 * The sshd processes serving this sshd's logged-in connections (`sshd: USER@notty`, the child
 * of each connection's privileged monitor): killing one drops that connection as a network
 * failure or an OOM kill would.
 */
export function sshdSessionPids(sshd: Sshd, uid?: number): number[] {
  const all = childPids(sshd.pid).flatMap(childPids);
  return uid === undefined ? all : all.filter((pid) => fs.statSync(`/proc/${pid}`, { throwIfNoEntry: false })?.uid === uid);
}

/** `pid` and the processes under it (the remote command, its children), a few levels deep. */
export function processTree(pid: number, depth = 6): number[] {
  return [pid, ...(depth > 0 ? childPids(pid).flatMap((c) => processTree(c, depth - 1)) : [])];
}

/**
 * A client identity: key pair (protected by `passphrase` when given, so ssh must ask for it),
 * known_hosts and the ssh config the code under test reads.
 */
export function sshClient(opts: { passphrase?: string } = {}): SshClient & { keyPub: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskchain-sshc-'));
  const key = path.join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', opts.passphrase ?? '', '-f', key]);
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHosts, '');
  const config = path.join(dir, 'ssh_config');
  fs.writeFileSync(
    config,
    [
      'Host *',
      `  IdentityFile ${key}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '',
    ].join('\n'),
  );
  const runtimeDir = path.join(dir, 'run');
  fs.mkdirSync(runtimeDir, { mode: 0o700 });
  return {
    dir,
    config,
    knownHosts,
    runtimeDir,
    keyPub: fs.readFileSync(`${key}.pub`, 'utf8'),
    env: { DISKCHAIN_SSH_CONFIG: config, XDG_RUNTIME_DIR: runtimeDir },
    trust(sshd) {
      fs.appendFileSync(knownHosts, `[${sshd.addr}]:${sshd.port} ${sshd.hostKey}\n`);
    },
    close() {
      const cm = path.join(runtimeDir, 'diskchain');
      for (const sock of fs.existsSync(cm) ? fs.readdirSync(cm) : []) {
        spawnSync('ssh', ['-F', config, '-o', `ControlPath=${path.join(cm, sock)}`, '-O', 'exit', 'x'], { stdio: 'ignore', timeout: 5000 });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
