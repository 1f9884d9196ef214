// Talking to the privileged helper: started once (pkexec or sudo when we are not root, see
// helper-launch.ts; directly when we are) and kept for the session, so an apply, an undo and a
// recovery ask for authentication once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ApplyProgress, CancelLine, HelperVerb, RequestOf, ResultOf } from './contract.js';
import { INSTALLED_LAUNCHER, helperRoute, sudoInvocation, type HelperInvocation } from './helper-launch.js';
import { LineSplitter } from '../core/lines.js';

export { INSTALLED_LAUNCHER, type HelperInvocation } from './helper-launch.js';

const here = fileURLToPath(import.meta.url);
/** The longest answer taken from the helper (a plan of 110,000 files is about 160 MB; V8 strings end near 512 MB). */
const ANSWER_MAX = 400 << 20;

/** The helper script: electron/node/helper/main.ts from source, helper.js next to the bundle otherwise. */
export function helperScript(): string {
  if (process.env.DISKCHAIN_HELPER) return path.resolve(process.env.DISKCHAIN_HELPER);
  if (here.endsWith('.ts')) return path.resolve(path.dirname(here), '../helper/main.ts');
  return path.join(path.dirname(here), 'helper.js');
}

/** node's arguments to run `script` (TypeScript through tsx's loader when run from source). */
export function nodeArgs(script: string): string[] {
  if (!script.endsWith('.ts')) return [script];
  const req = createRequire(import.meta.url);
  const loader = path.join(path.dirname(req.resolve('tsx/package.json')), 'dist/loader.mjs');
  return ['--import', pathToFileURL(loader).href, script];
}

/** How to start the helper from here. */
export function helperInvocation(): HelperInvocation {
  const script = helperScript();
  const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
  if (process.getuid?.() === 0) return { command: process.execPath, args: nodeArgs(script), env };
  if (helperRoute() === 'sudo') return sudoInvocation(env);
  const explain = (code: number | null, stderr: string) => {
    const why = pkexecFailure(code, stderr);
    return why ? new Error(why) : null;
  };
  if (!process.env.DISKCHAIN_HELPER && fs.existsSync(INSTALLED_LAUNCHER)) {
    return { command: 'pkexec', args: [INSTALLED_LAUNCHER], env, explain };
  }
  // pkexec clears the environment: Electron must be told again to behave as node.
  const run = process.versions.electron
    ? ['/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', process.execPath, ...nodeArgs(script)]
    : [process.execPath, ...nodeArgs(script)];
  return { command: 'pkexec', args: run, env, explain };
}

/**
 * What pkexec's own failure means, or null when the exit status is the helper's. pkexec exits 126
 * when the authentication dialog was dismissed and 127 for everything else it refuses or fails at:
 * "Not authorized" (polkit said no) is told apart from errors only by what it prints.
 */
export function pkexecFailure(code: number | null, stderr: string): string | null {
  const detail = stderr ? ` (pkexec: ${stderr})` : '';
  if (code === 126) return `authentication cancelled: the request to run the privileged helper was dismissed${detail}`;
  if (code !== 127) return null;
  if (/not authori[sz]ed/i.test(stderr))
    return `authentication refused: polkit does not allow this user to run the privileged helper (action org.diskchain.helper.run)${detail}`;
  if (/authentication agent/i.test(stderr))
    return `authentication needed, but no polkit authentication agent can ask for it here (run from a desktop session, or start pkttyagent)${detail}`;
  return `pkexec could not start the privileged helper (exit 127)${detail}`;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (p: ApplyProgress) => void;
}

/** What a caller may want while a request runs. */
export interface RequestOptions {
  /** The helper's progress lines for this request, in order. */
  onProgress?: (p: ApplyProgress) => void;
  /** Aborting asks the helper to stop the request and put back what it did (the answer still comes). */
  signal?: AbortSignal;
}

export class HelperClient {
  /** Null when no launcher could be started (the refusal is in `exited`). */
  private readonly child: ChildProcessWithoutNullStreams | null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Answers are split where they end, not searched from their start per chunk: a 16 MB plan took seconds so. */
  private readonly lines = new LineSplitter(ANSWER_MAX);
  private stderr = '';
  private exited: Error | null = null;

  constructor(given?: HelperInvocation) {
    let inv: HelperInvocation;
    try {
      inv = given ?? helperInvocation();
    } catch (e) {
      // A refusal (no sudo for the helper here) is every request's answer, as a launcher's failure would be.
      this.exited = e as Error;
      this.child = null;
      return;
    }
    this.child = spawn(inv.command, inv.args, { env: inv.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.child.on('error', (e) => this.fail(new Error(`cannot start the helper (${inv.command}): ${e.message}`)));
    // A request written after pkexec refused fails with EPIPE; why it ended comes with 'close'.
    this.child.stdin.on('error', () => {});
    // 'close', not 'exit': pkexec's reason is on stderr, which may still be arriving at 'exit'.
    this.child.on('close', (code, signal) => {
      const said = this.stderr.trim()
        ? this.stderr
            .trim()
            .split('\n')
            .filter((l) => l.trim())
            .slice(-3)
            .join(' ')
        : '';
      this.fail(inv.explain?.(code, said) ?? new Error(`the privileged helper exited (${signal ?? code})${said ? `: ${said}` : ''}`));
    });
    this.idle();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  private fail(e: Error): void {
    if (this.exited) return;
    this.exited = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private onData(d: Buffer): void {
    let lines: string[];
    try {
      lines = this.lines.push(d);
    } catch (e) {
      // Out of step from here: read nothing more (pkexec's child may not be ours to kill, but it
      // stops at its next write once the pipe is closed).
      this.fail(new Error(`the privileged helper sent ${(e as Error).message}`));
      this.child?.stdout.destroy();
      this.child?.kill('SIGKILL');
      this.idle();
      return;
    }
    for (const line of lines) this.onLine(line);
    this.idle();
  }

  private onLine(line: string): void {
    let msg: { id: number | null; ok: boolean; result?: unknown; error?: string; progress?: ApplyProgress };
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.progress !== undefined && msg.ok === undefined) {
      if (msg.id !== null) this.pending.get(msg.id)?.onProgress?.(msg.progress);
      return;
    }
    const p = msg.id === null ? this.pending.values().next().value : this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id ?? [...this.pending.keys()][0]!);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error ?? 'helper error'));
  }

  /** Let the process exit while nothing is asked of the helper. */
  private idle(): void {
    if (!this.child) return;
    const busy = this.pending.size > 0;
    const streams = [this.child.stdout, this.child.stderr, this.child.stdin] as unknown as { ref?: () => void; unref?: () => void }[];
    for (const s of streams) (busy ? s.ref : s.unref)?.call(s);
    if (busy) this.child.ref();
    else this.child.unref();
  }

  /** Ask the helper one verb of its contract; the body and the result are typed by the verb. */
  request<V extends HelperVerb>(verb: V, body: RequestOf<V>, opts: RequestOptions = {}): Promise<ResultOf<V>> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    const cancel = () => {
      if (this.pending.has(id)) this.child?.stdin.write(JSON.stringify({ cancel: id } satisfies CancelLine) + '\n');
    };
    const run = new Promise<ResultOf<V>>((resolve, reject) => {
      this.pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      });
      this.idle();
      this.child!.stdin.write(JSON.stringify({ id, verb, ...body }) + '\n');
    });
    if (!opts.signal) return run;
    if (opts.signal.aborted) cancel();
    else opts.signal.addEventListener('abort', cancel, { once: true });
    return run.finally(() => opts.signal!.removeEventListener('abort', cancel));
  }

  close(): void {
    this.child?.stdin.end();
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }
}

let shared: HelperClient | null = null;

/** The session's helper, started on first use (and again if it went away). */
export function helper(): HelperClient {
  if (!shared || !shared.alive) shared = new HelperClient();
  return shared;
}

/** Stop the session's helper (it exits when its input ends). */
export function closeHelper(): void {
  shared?.close();
  shared = null;
}
