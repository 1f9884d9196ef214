// A two-file chain (top.qcow2 on base.qcow2) in a folder the test uid may search, and `diskchain why`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Verdict } from '../../shared/verdict.js';
import { diskchain, type Run } from '../support/bin.js';
import { qemuImg, tempDir } from '../support/qemu.js';

export const WHO = ['--user', '+107', '--group', '+107'];

export interface WhyChain {
  root: string;
  dir: string;
  top: string;
  base: string;
  cleanup: () => void;
}

/** top.qcow2 (107:107 0600) on base.qcow2 (107:107 0644) in `root/vm`: the test uid opens both. */
export function whyChain(): WhyChain {
  const tmp = tempDir('diskchain-why-');
  fs.chmodSync(tmp.dir, 0o755);
  const dir = path.join(fs.realpathSync(tmp.dir), 'vm');
  fs.mkdirSync(dir, { mode: 0o755 });
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg(dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
  const top = path.join(dir, 'top.qcow2');
  const base = path.join(dir, 'base.qcow2');
  for (const f of [top, base]) fs.chownSync(f, 107, 107);
  fs.chmodSync(top, 0o600);
  fs.chmodSync(base, 0o644);
  return { root: tmp.dir, dir, top, base, cleanup: tmp.cleanup };
}

export function sh(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function why(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  return diskchain(['why', ...args], opts);
}

export function verdictOf(r: Run): Verdict {
  return JSON.parse(r.stdout) as Verdict;
}

/** The blockers as [kind, path] pairs. */
export function kinds(v: Verdict): Array<[string, string]> {
  return v.blockers.map((b) => [b.kind, b.path]);
}
