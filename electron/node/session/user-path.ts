// Paths as users type them: the one rule every request that names a file goes through.
import * as os from 'node:os';
import * as path from 'node:path';
import { ContractError } from '../../../shared/ipc.js';

/** Absolute path from what a user typed: `~` is the home folder, relative paths are refused. */
export function userPath(p: string): string {
  let s = p.trim();
  if (s === '~' || s.startsWith('~/')) s = path.join(os.homedir(), s.slice(1));
  if (!path.isAbsolute(s)) throw new ContractError(`type an absolute path (starting with /), not '${p}'`);
  return path.normalize(s).replace(/(.)\/+$/, '$1');
}
