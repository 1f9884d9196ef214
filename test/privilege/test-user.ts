// An unprivileged user made for one test file (useradd, removed with its home afterwards), and
// the built CLI run as that user the way a person would: setpriv to its uid, gid and groups, no
// capabilities, and a clean environment.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, type CliResult } from '../support/cli.js';
import { letUidReach } from '../support/reach.js';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** A second group the user is in: one it may give its files to through pkexec (a session VM's). */
  vmGroup: string;
  vmGid: number;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export function createUser(): TestUser {
  const name = `dcpk-${randomBytes(4).toString('hex')}`;
  const vmGroup = `${name}-vm`;
  run('groupadd', [vmGroup]);
  try {
    run('useradd', ['--create-home', '--user-group', '--groups', vmGroup, '--shell', '/bin/sh', name]);
  } catch (e) {
    spawnSync('groupdel', [vmGroup]);
    throw e;
  }
  const home = path.join('/home', name);
  if (!fs.statSync(home).isDirectory()) throw new Error(`useradd made no ${home}`);
  const num = (s: string) => Number(s.trim());
  return {
    name,
    uid: num(run('id', ['-u', name])),
    gid: num(run('id', ['-g', name])),
    home,
    vmGroup,
    vmGid: num(run('getent', ['group', vmGroup]).split(':')[2]!),
  };
}

export function removeUser(u: TestUser | undefined): void {
  if (!u) return;
  spawnSync('userdel', ['--remove', u.name], { encoding: 'utf8' });
  spawnSync('groupdel', [u.vmGroup], { encoding: 'utf8' });
}

/** Let `u` reach `dir` (the checkout it runs): see letUidReach. Returns what undoes it. */
export function letUserReach(u: TestUser, dir: string): () => void {
  return letUidReach(u.uid, dir);
}

/** A folder in the user's home that the user owns (0755), for its images. */
export function userFolder(u: TestUser, name: string): string {
  const dir = path.join(u.home, name);
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chownSync(dir, u.uid, u.gid);
  fs.chmodSync(dir, 0o755);
  return dir;
}

/**
 * argv run as `u`, in a session of its own: with no controlling terminal pkexec's text agent can
 * never prompt on the terminal of whoever runs the tests.
 */
function asUser(u: TestUser, argv: string[]): [string, string[]] {
  return [
    'setsid',
    [
      '--wait',
      'setpriv',
      '--reuid',
      String(u.uid),
      '--regid',
      String(u.gid),
      '--init-groups',
      '--',
      'env',
      '-i',
      `HOME=${u.home}`,
      'PATH=/usr/bin:/bin',
      `XDG_STATE_HOME=${path.join(u.home, '.local/state')}`,
      ...argv,
    ],
  ];
}

/** `diskchain ARGS` (dist/electron/cli.js) as `u`. */
export function cliAs(u: TestUser, args: string[]): CliResult {
  const t0 = performance.now();
  const [cmd, argv] = asUser(u, [process.execPath, CLI, ...args]);
  const r = spawnSync(cmd, argv, { cwd: u.home, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0 };
}

/** A process of `u` that does nothing (a subject for pkcheck); kill it when done. */
export function idleAs(u: TestUser): ChildProcess {
  const [cmd, argv] = asUser(u, ['sleep', '600']);
  return spawn(cmd, argv, { stdio: 'ignore' });
}
