// The app's askpass: ssh asks for passwords and passphrases through SSH_ASKPASS (forced, so it
// never reads a terminal), the bundled askpass-prompt.mjs relays each question over a unix socket
// (0600, in the 0700 runtime folder) to the prompt handler of the host that started that ssh, and
// prints the answer. Questions are asked one at a time across every host, as virt-manager does,
// so two prompts never stand open together and an answer cannot go to the wrong one.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineSplitter, LineTooLong } from '../core/lines.js';
import { controlDir, shellQuote } from './ssh.js';

export type PromptKind = 'passphrase' | 'password' | 'host-key' | 'other';

export interface Prompt {
  /** The host id whose ssh asks. */
  host: string;
  kind: PromptKind;
  /** ssh's own prompt text. */
  text: string;
}

/** The user's answer, or null to cancel (ssh then fails with needs-password). */
export type PromptHandler = (prompt: Prompt) => Promise<string | null>;

const MAX_REQUEST = 16 * 1024;

export function promptKind(text: string): PromptKind {
  if (/passphrase/i.test(text)) return 'passphrase';
  if (/password/i.test(text)) return 'password';
  if (/authenticity of host|continue connecting|fingerprint/i.test(text)) return 'host-key';
  return 'other';
}

interface Registration {
  host: string;
  handler: PromptHandler;
}

class AskpassServer {
  private readonly tokens = new Map<string, Registration>();
  /** Each question waits for the one before it: never two prompts at once. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
    readonly program: string,
  ) {
    server.on('connection', (c) => this.serve(c));
  }

  static async start(): Promise<AskpassServer> {
    const dir = controlDir();
    const id = `${process.pid}-${randomBytes(6).toString('hex')}`;
    const socketPath = path.join(dir, `askpass-${id}.sock`);
    const program = path.join(dir, `askpass-${id}.sh`);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    // The folder is 0700 already; the socket is made private as well, in case the folder is shared.
    fs.chmodSync(socketPath, 0o600);
    server.unref();
    // SSH_ASKPASS is run without a shell and without arguments of ours: a wrapper starts this
    // process's own runtime (node, or Electron as node) on the prompt script.
    const script = fileURLToPath(new URL('./askpass-prompt.mjs', import.meta.url));
    fs.writeFileSync(program, `#!/bin/sh\nELECTRON_RUN_AS_NODE=1 exec ${shellQuote(process.execPath)} ${shellQuote(script)} "$@"\n`, {
      mode: 0o700,
    });
    return new AskpassServer(server, socketPath, program);
  }

  register(reg: Registration): string {
    const token = randomBytes(24).toString('hex');
    this.tokens.set(token, reg);
    return token;
  }

  /** Forget a token; true when none is left (the server may close). */
  unregister(token: string): boolean {
    this.tokens.delete(token);
    return this.tokens.size === 0;
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.socketPath, { force: true });
    fs.rmSync(this.program, { force: true });
  }

  private serve(conn: net.Socket): void {
    const splitter = new LineSplitter(MAX_REQUEST);
    let asked = false;
    conn.on('error', () => undefined);
    conn.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (e) {
        if (e instanceof LineTooLong) return void conn.destroy();
        throw e;
      }
      if (!lines.length || asked) return;
      asked = true;
      const req = parseRequest(lines[0]!);
      const reg = req && this.tokens.get(req.token);
      if (!req || !reg) return void conn.end();
      const prompt: Prompt = { host: reg.host, kind: promptKind(req.prompt), text: req.prompt };
      const turn = this.queue.then(() => (conn.destroyed ? null : reg.handler(prompt)));
      this.queue = turn.catch(() => undefined);
      turn.then(
        (answer) => (typeof answer === 'string' ? conn.end(`${JSON.stringify({ answer })}\n`) : conn.end()),
        () => conn.end(),
      );
    });
  }
}

function parseRequest(line: string): { token: string; prompt: string } | null {
  try {
    const v = JSON.parse(line) as { token?: unknown; prompt?: unknown };
    return typeof v.token === 'string' && typeof v.prompt === 'string' ? { token: v.token, prompt: v.prompt } : null;
  } catch {
    return null;
  }
}

let running: Promise<AskpassServer> | null = null;

export interface AskpassLease {
  /** The environment for the ssh process that may ask. */
  env: Record<string, string>;
  /** The ssh process is gone: its questions are no longer answered. */
  release(): void;
}

/** Route the prompts of one ssh process for `host` to `handler`. */
export async function askpassFor(host: string, handler: PromptHandler): Promise<AskpassLease> {
  const starting = (running ??= AskpassServer.start());
  let server: AskpassServer;
  try {
    server = await starting;
  } catch (e) {
    if (running === starting) running = null;
    throw e;
  }
  const token = server.register({ host, handler });
  let released = false;
  return {
    env: {
      SSH_ASKPASS: server.program,
      SSH_ASKPASS_REQUIRE: 'force',
      DISPLAY: process.env.DISPLAY || ':0',
      DISKCHAIN_ASKPASS_SOCKET: server.socketPath,
      DISKCHAIN_ASKPASS_TOKEN: token,
    },
    release() {
      if (released) return;
      released = true;
      if (server.unregister(token) && running === starting) {
        running = null;
        server.close();
      }
    },
  };
}
