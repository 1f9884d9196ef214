// Trusting a new host key the way ssh would have asked: fetch the key with ssh-keyscan, show its
// fingerprint, and on the user's yes append it to the known_hosts file ssh itself reads (from
// `ssh -G`, so a UserKnownHostsFile in the config or DISKCHAIN_SSH_CONFIG is honoured).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { HostSpec } from './host-spec.js';

export { classifySshFailure } from './errors.js';

const MAX_KEYSCAN = 64 * 1024;

export interface ScannedKeys {
  /** known_hosts lines as ssh-keyscan printed them. */
  lines: string[];
  /** `ssh-keygen -l` output: one fingerprint line per key. */
  fingerprints: string[];
}

/** The host's keys and their fingerprints (nothing is written). */
export function scanHostKeys(spec: HostSpec): ScannedKeys {
  const out = execFileSync('ssh-keyscan', ['-T', '10', '-p', String(spec.port ?? 22), '--', spec.host], {
    encoding: 'utf8',
    maxBuffer: MAX_KEYSCAN,
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 20_000,
  });
  const lines = out.split('\n').filter((l) => l && !l.startsWith('#') && /^\S+ \S+ [A-Za-z0-9+/=]+$/.test(l));
  if (!lines.length) throw new Error(`${spec.id} gave no host key`);
  const fp = execFileSync('ssh-keygen', ['-l', '-f', '-'], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 10_000 });
  return { lines, fingerprints: fp.split('\n').filter(Boolean) };
}

/** The first UserKnownHostsFile ssh uses for this host. */
export function knownHostsFile(spec: HostSpec): string {
  const args = ['-G'];
  const config = process.env.DISKCHAIN_SSH_CONFIG;
  if (config) args.push('-F', config);
  if (spec.port) args.push('-p', String(spec.port));
  if (spec.user) args.push('-l', spec.user);
  const out = execFileSync('ssh', [...args, '--', spec.host], { encoding: 'utf8', timeout: 10_000 });
  const line = out.split('\n').find((l) => l.toLowerCase().startsWith('userknownhostsfile '));
  const first = line?.split(/\s+/)[1];
  if (!first) return path.join(os.homedir(), '.ssh/known_hosts');
  return first.startsWith('~/') ? path.join(os.homedir(), first.slice(2)) : first;
}

/** Append the scanned keys to ssh's known_hosts (after the user saw the fingerprints). */
export function trustHostKeys(spec: HostSpec, keys: ScannedKeys): string {
  const file = knownHostsFile(spec);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.appendFileSync(file, keys.lines.join('\n') + '\n', { mode: 0o600 });
  return file;
}
