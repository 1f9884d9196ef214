// Which program starts the root helper for an unprivileged process. pkexec needs a polkit agent to
// answer, which a desktop session has and an ssh login has not; there sudo runs the installed
// launcher, through the rule `diskchain install-helper --sudoers USER` writes (no password), or
// with SUDO_ASKPASS when the user's rule asks for one. Neither: a typed refusal saying what to run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Where an installed helper launcher lives (named by the polkit policy's exec.path and the sudoers rule). */
export const INSTALLED_LAUNCHER = '/usr/libexec/diskchain/diskchain-helper';

export interface HelperInvocation {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** What the launcher's own failure means (its exit status and last stderr lines), or null when the exit is the helper's. */
  explain?: (code: number | null, stderr: string) => Error | null;
}

export type HelperRoute = 'pkexec' | 'sudo';

/** A refusal the client can act on by its code (shared/agent.ts's AgentErrorCode), naming the host. */
export class HelperRefusal extends Error {
  constructor(
    readonly code: 'no-sudo',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'HelperRefusal';
  }
}

/** pkexec where a polkit agent can answer (a local session); sudo over ssh; DISKCHAIN_HELPER_VIA decides when set. */
export function helperRoute(env: NodeJS.ProcessEnv = process.env): HelperRoute {
  const forced = env.DISKCHAIN_HELPER_VIA;
  if (forced === 'sudo' || forced === 'pkexec') return forced;
  return env.SSH_CONNECTION || env.SSH_CLIENT ? 'sudo' : 'pkexec';
}

/** Whether sudo runs the installed launcher for this user without a password (`sudo -n -l` runs nothing). */
export function sudoAllowsHelper(): boolean {
  if (!fs.existsSync(INSTALLED_LAUNCHER)) return false;
  const r = spawnSync('sudo', ['-n', '-l', INSTALLED_LAUNCHER], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** The `no-sudo` refusal: which host, which user, and the command that makes it work. */
export function noSudo(why: string): HelperRefusal {
  const host = os.hostname();
  const user = os.userInfo().username;
  return new HelperRefusal(
    'no-sudo',
    `on ${host}, ${user} cannot start diskchain's privileged helper through sudo (${why}); as root on ${host} run: diskchain install-helper --sudoers ${user}`,
  );
}

/** sudo's own failure (it prints `sudo: …` and exits 1), as the refusal; null when the exit is the helper's. */
function sudoFailure(code: number | null, stderr: string): Error | null {
  const said = /(?:^|\s)sudo: (.*)$/.exec(stderr);
  return code === 1 && said ? noSudo(`sudo said: ${said[1]!.trim()}`) : null;
}

/** How to start the installed launcher through sudo, or the refusal when sudo cannot. */
export function sudoInvocation(env: NodeJS.ProcessEnv): HelperInvocation {
  if (!fs.existsSync(INSTALLED_LAUNCHER)) throw noSudo(`the helper is not installed: no ${INSTALLED_LAUNCHER}`);
  // `--` and no arguments: the rule allows the launcher with none.
  if (sudoAllowsHelper()) return { command: 'sudo', args: ['-n', '--', INSTALLED_LAUNCHER], env, explain: sudoFailure };
  if (env.SUDO_ASKPASS) return { command: 'sudo', args: ['-A', '--', INSTALLED_LAUNCHER], env, explain: sudoFailure };
  throw noSudo('sudo -n says a password is required, and no SUDO_ASKPASS can ask for it');
}
