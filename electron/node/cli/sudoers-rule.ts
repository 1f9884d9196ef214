// The sudoers rule `diskchain install-helper --sudoers USER` writes, for hosts reached over ssh
// (no polkit agent there to answer pkexec): USER may run the installed helper launcher as root,
// without a password, with no arguments and none of their environment, and nothing else. The
// helper then holds USER (SUDO_UID) to the same consent rules as a pkexec caller.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { INSTALLED_LAUNCHER } from '../change/helper-launch.js';
import { lookupUser } from '../native/libc.js';
import { requireRootOnly, writeRootFile } from './root-only.js';

export const SUDOERS_DIR = '/etc/sudoers.d';
/** A login name sudoers takes bare: no quoting, no dot (sudo skips files with one in sudoers.d), not `ALL`. */
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
/** The files this module writes, as the install manifest may name them. */
export const SUDOERS_FILE = /^\/etc\/sudoers\.d\/diskchain-[a-z_][a-z0-9_-]{0,31}$/;

export function sudoersPath(user: string): string {
  return path.join(SUDOERS_DIR, `diskchain-${user}`);
}

/** The rule for `user`; throws for a name that is not a plain login name of a user here, or root. */
export function sudoersText(user: string): string {
  if (!USER_NAME.test(user)) throw new Error(`${JSON.stringify(user)} is not a plain login name (lower-case letters, digits, _ and -)`);
  const found = lookupUser(user);
  if (!found) throw new Error(`no user ${user} here`);
  if (found.uid === 0) throw new Error(`${user} is root already: no rule needed`);
  // `""`: the launcher with no arguments only. NOSETENV and !setenv: `sudo VAR=…` is refused;
  // env_reset and !env_keep: nothing of the caller's environment reaches the helper.
  return [
    `# Written by \`diskchain install-helper --sudoers ${user}\`; \`diskchain uninstall-helper\` removes it.`,
    `# ${user} may start diskchain's privileged helper as root without a password, and nothing else.`,
    `Defaults!${INSTALLED_LAUNCHER} env_reset, !env_keep, !setenv`,
    `${user} ALL=(root) NOPASSWD: NOSETENV: ${INSTALLED_LAUNCHER} ""`,
    '',
  ].join('\n');
}

/**
 * Write the rule for `user` (0440): to a name sudo skips (it holds a dot), checked by
 * `visudo -cf`, then renamed into place, so sudo never reads a broken or half-written rule.
 * `ours` says whether an existing file of that name is one install-helper wrote.
 */
export function writeSudoersRule(user: string, ours: boolean): string {
  const text = sudoersText(user);
  const dest = sudoersPath(user);
  if (!fs.existsSync(SUDOERS_DIR)) throw new Error(`sudo is not installed (no ${SUDOERS_DIR}): install the sudo package first`);
  requireRootOnly(SUDOERS_DIR, "sudo's rules folder");
  if (!ours && fs.existsSync(dest)) throw new Error(`${dest} is there but diskchain install-helper did not write it: left as it is`);
  const staged = path.join(SUDOERS_DIR, `.diskchain-${user}.new`);
  writeRootFile(staged, text, 0o440);
  const check = spawnSync('visudo', ['-cqf', staged], { encoding: 'utf8', timeout: 30_000 });
  if (check.status !== 0) {
    fs.rmSync(staged, { force: true });
    throw new Error(
      `visudo refused the rule for ${user}: ${`${check.stdout}${check.stderr}`.trim() || (check.error?.message ?? `exit ${check.status}`)}`,
    );
  }
  fs.renameSync(staged, dest);
  return dest;
}
