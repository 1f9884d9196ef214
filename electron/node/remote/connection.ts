// The client of `diskchain agent --stdio` on a remote host, through the system ssh: checks the
// hello (protocol skew and a missing agent are typed refusals naming the host), multiplexes
// requests by id over one ssh session, delivers events, inflates large results. A connection that
// drops after the hello is re-opened with backoff; requests marked idempotent are sent again,
// the others fail with `offline` (they may or may not have run).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import {
  AGENT_PROTOCOL,
  AgentFrameSchema,
  HelloFrameSchema,
  MAX_LINE,
  skewCode,
  SUDO_ANSWER_METHOD,
  SUDO_PROMPT_EVENT,
  SUDO_RELAY_METHOD,
  SudoPromptSchema,
  type AgentErrorCode,
  type Hello,
} from '../../../shared/agent.js';
import { askInQueue } from './ask-queue.js';
import { askpassFor, type AskpassLease, type PromptHandler } from './askpass.js';
import { classifySshFailure, RemoteError } from './errors.js';
import { inflate } from './frames.js';
import type { HostSpec } from './host-spec.js';
import { LineSplitter } from '../core/lines.js';
import { masterSlots } from './slots.js';
import { remoteCommand, sshArgs, type SshMode } from './ssh.js';

export { RemoteError } from './errors.js';

/** Requests that only read: safe to send again after a reconnect. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'info',
  'open',
  'scan',
  'recent',
  'history',
  'explain',
  'domain',
  'export',
]);

const STDERR_TAIL = 64 * 1024;

export interface ConnectOptions extends SshMode {
  /**
   * Where ssh's password and passphrase questions go (the app): ssh runs with diskchain's askpass.
   * Without it ssh runs in BatchMode (the CLI) and such a host is refused with needs-password.
   */
  prompt?: PromptHandler;
  /** Time to the hello, not counting the time a prompt stands open (default 30 s). */
  helloTimeoutMs?: number;
  /** Reconnect attempts after a drop before giving up (default 5). */
  maxReconnects?: number;
  /** First backoff delay; doubled each attempt up to 8 s (default 250 ms). */
  backoffMs?: number;
}

export type HostState = 'connecting' | 'ready' | 'reconnecting' | 'offline' | 'closed';

interface Pending {
  method: string;
  params: unknown;
  idempotent: boolean;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class AgentConnection extends EventEmitter {
  state: HostState = 'connecting';
  hello: Hello | null = null;
  private child: ChildProcessWithoutNullStreams | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;
  /** The askpass lease of the running ssh: sudo's relayed questions are asked through it. */
  private lease: AskpassLease | null = null;

  constructor(
    readonly spec: HostSpec,
    private readonly opts: ConnectOptions = {},
  ) {
    super();
  }

  /** Start ssh and wait for a matching hello. */
  async connect(): Promise<Hello> {
    this.hello = await this.open();
    await this.relaySudo();
    this.ready();
    return this.hello;
  }

  /** Requests made while connecting (or reconnecting) go out once the hello is in. */
  private ready(): void {
    // Dropped while opting in: reconnecting already, which calls this again.
    if (!this.child) return;
    this.setState('ready');
    for (const id of this.pending.keys()) this.send(id);
  }

  /**
   * Where a person can answer (a prompt handler), the agent relays sudo's password questions for
   * its helper here. Done before any other request goes out, so none starts the helper before the
   * relay is there; not idempotent: a drop fails it, and the next hello asks again.
   */
  private async relaySudo(): Promise<void> {
    if (!this.opts.prompt) return;
    const { id, done } = this.enqueue(SUDO_RELAY_METHOD, {}, false);
    this.send(id);
    await done.catch(() => undefined);
  }

  /** Ask sudo's question in the askpass queue (one prompt at a time), then answer the agent. */
  private async answerSudo(data: unknown): Promise<void> {
    const q = SudoPromptSchema.safeParse(data);
    if (!q.success || !this.opts.prompt) return;
    const answer = this.lease ? await askInQueue(this.lease.env, q.data.text) : null;
    await this.request(SUDO_ANSWER_METHOD, { id: q.data.id, answer }, { idempotent: false }).catch(() => undefined);
  }

  /** Send a request; the result, or a RemoteError. */
  request(method: string, params: unknown = {}, opts: { idempotent?: boolean } = {}): Promise<unknown> {
    if (this.closing) return Promise.reject(new RemoteError('offline', this.spec.id, `the connection to ${this.spec.id} is closed`));
    const { id, done } = this.enqueue(method, params, opts.idempotent ?? IDEMPOTENT_METHODS.has(method));
    if (this.state === 'ready') this.send(id);
    return done;
  }

  private enqueue(method: string, params: unknown, idempotent: boolean): { id: number; done: Promise<unknown> } {
    const id = this.nextId++;
    const done = new Promise((resolve, reject) => this.pending.set(id, { method, params, idempotent, resolve, reject }));
    return { id, done };
  }

  async close(): Promise<void> {
    this.closing = true;
    const child = this.child;
    this.failAll('offline', `the connection to ${this.spec.id} was closed`);
    this.setState('closed');
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
    await done;
    clearTimeout(timer);
  }

  /** The pid of the local ssh process (tests kill it to drop the connection). */
  get sshPid(): number | undefined {
    return this.child?.pid;
  }

  private setState(s: HostState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  private send(id: number): void {
    const p = this.pending.get(id);
    if (!p || !this.child) return;
    this.child.stdin.write(`${JSON.stringify({ id, method: p.method, params: p.params })}\n`);
  }

  private failAll(code: AgentErrorCode, message: string, keep?: (p: Pending) => boolean): void {
    for (const [id, p] of this.pending) {
      if (keep?.(p)) continue;
      this.pending.delete(id);
      p.reject(new RemoteError(code, this.spec.id, message));
    }
  }

  private async open(): Promise<Hello> {
    const host = this.spec.id;
    const release = await masterSlots(host).acquire();
    let lease: AskpassLease | null = null;
    let child: ChildProcessWithoutNullStreams;
    // While the user answers a prompt the hello clock stops: typing a password may take minutes.
    let prompting: ((open: boolean) => void) | null = null;
    try {
      const handler = this.opts.prompt;
      if (handler) {
        lease = await askpassFor(host, async (p) => {
          prompting?.(true);
          try {
            return await handler(p);
          } finally {
            prompting?.(false);
          }
        });
      }
      const mode: SshMode = { ...this.opts, askpass: !!lease };
      child = spawn('ssh', sshArgs(this.spec, remoteCommand(['agent', '--stdio']), mode), {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: lease ? { ...process.env, ...lease.env } : process.env,
      });
    } catch (e) {
      lease?.release();
      release();
      throw e;
    }
    this.child = child;
    this.lease = lease;
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr = (stderr + b.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.stdin.on('error', () => undefined);
    const splitter = new LineSplitter(MAX_LINE);
    return new Promise<Hello>((resolve, reject) => {
      let hello: Hello | null = null;
      const fail = (e: RemoteError) => {
        if (hello) return;
        clearTimeout(timer);
        child.kill('SIGTERM');
        reject(e);
      };
      const helloMs = this.opts.helloTimeoutMs ?? 30_000;
      const arm = () =>
        setTimeout(() => fail(new RemoteError('offline', host, `${host} sent no hello within ${helloMs / 1000} s`)), helloMs);
      let timer = arm();
      prompting = (open) => {
        clearTimeout(timer);
        if (!open && !hello) timer = arm();
      };
      child.stdout.on('data', (chunk: Buffer) => {
        let lines: string[];
        try {
          lines = splitter.push(chunk);
        } catch (e) {
          child.kill('SIGTERM');
          return fail(new RemoteError('failed', host, `${host}: ${(e as Error).message}`));
        }
        for (const line of lines) {
          if (hello) {
            this.onFrame(line);
            continue;
          }
          const h = parseJson(line, HelloFrameSchema);
          if (!h) return fail(new RemoteError('agent-missing', host, `${host} did not answer as a diskchain agent`));
          if (h.hello.protocol !== AGENT_PROTOCOL) {
            const code = skewCode(h.hello.protocol);
            return fail(
              new RemoteError(
                code,
                host,
                `the diskchain agent on ${host} (version ${h.hello.version}) speaks protocol ${h.hello.protocol}, this diskchain speaks ${AGENT_PROTOCOL}: ` +
                  (code === 'agent-too-old' ? `update diskchain on ${host}` : `update diskchain here to ${h.hello.version} or newer`) +
                  ` (or copy this one's agent with "diskchain agent --install-remote ssh://${host}")`,
              ),
            );
          }
          hello = h.hello;
          clearTimeout(timer);
          resolve(hello);
        }
      });
      child.on('close', (status) => {
        release();
        lease?.release();
        if (this.lease === lease) this.lease = null;
        prompting = null;
        if (!hello) {
          clearTimeout(timer);
          return reject(
            classifySshFailure(host, status, stderr) ??
              new RemoteError(
                'agent-missing',
                host,
                `the diskchain agent on ${host} exited with status ${status}: ${stderr.trim().slice(-300)}`,
              ),
          );
        }
        if (this.child === child) this.dropped();
      });
    });
  }

  private onFrame(line: string): void {
    const frame = parseJson(line, AgentFrameSchema);
    if (!frame) return;
    if ('event' in frame) {
      if (frame.event === SUDO_PROMPT_EVENT && 'data' in frame) void this.answerSudo(frame.data);
      try {
        this.emit('event', frame.event, 'gz' in frame ? inflate(frame.gz) : frame.data);
      } catch {
        // A corrupt compressed event is dropped; the next one carries the state on.
      }
      return;
    }
    const p = this.pending.get(frame.id);
    if (!p) return;
    this.pending.delete(frame.id);
    if (!frame.ok) return p.reject(new RemoteError(frame.error.code, this.spec.id, `${this.spec.id}: ${frame.error.message}`));
    try {
      p.resolve('gz' in frame ? inflate(frame.gz) : frame.result);
    } catch (e) {
      p.reject(new RemoteError('failed', this.spec.id, `${this.spec.id}: a compressed result did not inflate: ${(e as Error).message}`));
    }
  }

  /** The ssh session ended after the hello: reconnect with backoff, re-send what may be. */
  private dropped(): void {
    this.child = null;
    if (this.closing) return;
    this.failAll('offline', `the connection to ${this.spec.id} dropped while this request ran; it was not sent again`, (p) => p.idempotent);
    this.setState('reconnecting');
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const max = this.opts.maxReconnects ?? 5;
    let delay = this.opts.backoffMs ?? 250;
    for (let attempt = 0; attempt < max && !this.closing; attempt++) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 8000);
      if (this.closing) return;
      try {
        this.hello = await this.open();
        await this.relaySudo();
        this.ready();
        return;
      } catch (e) {
        // Refusals that a retry cannot fix end the reconnecting at once.
        if (e instanceof RemoteError && e.code !== 'offline') {
          this.failAll(e.code, e.message);
          this.setState('offline');
          return;
        }
      }
    }
    this.failAll('offline', `${this.spec.id} stayed unreachable after ${max} attempts`);
    this.setState('offline');
  }
}

function parseJson<T>(line: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }): T | null {
  try {
    const r = schema.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Connect and wait for the hello: a ready connection or a typed refusal. */
export async function connectAgent(spec: HostSpec, opts: ConnectOptions = {}): Promise<AgentConnection> {
  const c = new AgentConnection(spec, opts);
  try {
    await c.connect();
  } catch (e) {
    await c.close();
    throw e;
  }
  return c;
}
