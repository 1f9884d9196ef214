// The server side of `diskchain agent --stdio`: a hello, then one JSON request per line on stdin,
// each run through the same session handler table serve and Electron use (electron/node/session),
// answered by id on stdout; session events are forwarded as they happen. stdin's end is the
// client going away: pending requests finish, the session closes, the process exits.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import {
  AGENT_PROTOCOL,
  AgentRequestSchema,
  MAX_LINE,
  SCAN_SINCE_BATCHES,
  SUDO_ANSWER_METHOD,
  SUDO_PROMPT_EVENT,
  SUDO_RELAY_METHOD,
  SudoAnswerSchema,
  type AgentErrorCode,
  type Hello,
} from '../../../shared/agent.js';
import { isChannel, type EventData, type EventName } from '../../../shared/ipc.js';
import { hostBootTime } from '../core/boottime.js';
import { appArmorPresent, loadAppArmor } from '../access/apparmor.js';
import { sudoAllowsHelper } from '../change/helper-launch.js';
import { selinuxEnabled } from '../session/hostinfo.js';
import { MemoryRecent } from '../session/recent.js';
import { Session } from '../session/session.js';
import { frameLine } from './frames.js';
import { LineSplitter, LineTooLong } from '../core/lines.js';
import { SudoRelay } from './sudo-relay.js';

export interface AgentOptions {
  version: string;
  input?: Readable;
  output?: Writable;
}

/** Whether koffi's native addon loads here: without it the agent reads but sets no xattrs. */
function nativeXattrs(): boolean {
  try {
    createRequire(import.meta.url)('koffi');
    return true;
  } catch {
    return false;
  }
}

/**
 * The protocol this agent announces. DISKCHAIN_TEST_AGENT_PROTOCOL exists so the client's skew
 * refusal can be tested against a real agent; nothing else sets it.
 */
function announcedProtocol(): number {
  const forced = process.env.DISKCHAIN_TEST_AGENT_PROTOCOL;
  return forced && /^\d{1,6}$/.test(forced) ? Number(forced) : AGENT_PROTOCOL;
}

export function hello(version: string): Hello {
  const boot = Number(hostBootTime());
  return {
    protocol: announcedProtocol(),
    version,
    node: process.version,
    uid: process.getuid?.() ?? -1,
    bootTime: Number.isSafeInteger(boot) ? boot : null,
    selinux: selinuxEnabled(),
    apparmor: appArmorPresent(loadAppArmor()),
    capabilities: [
      'session',
      SCAN_SINCE_BATCHES,
      ...(sudoAllowsHelper() ? ['helper-sudo'] : []),
      ...(nativeXattrs() ? ['xattr-native'] : []),
    ],
  };
}

/** Run until stdin ends; resolves with the exit status. */
export async function runAgent(opts: AgentOptions): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const write = (line: string) => void output.write(line);
  write(`${JSON.stringify({ hello: hello(opts.version) })}\n`);

  const session = new Session({
    mode: 'serve',
    version: opts.version,
    recent: new MemoryRecent(),
    emit<E extends EventName>(event: E, data: EventData<E>) {
      write(frameLine({ event }, 'data', data));
    },
  });
  // A window connects to a host to scan it: the scan threads start loading now.
  session.warmScan();
  const refuse = (id: number, code: AgentErrorCode, message: string) =>
    write(`${JSON.stringify({ id, ok: false, error: { code, message } })}\n`);
  const relay = new SudoRelay((prompt) => write(frameLine({ event: SUDO_PROMPT_EVENT }, 'data', prompt)));

  const pending = new Set<Promise<void>>();
  const serveLine = async (line: string): Promise<void> => {
    if (!line.trim()) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return refuse(0, 'bad-request', 'not JSON');
    }
    const req = AgentRequestSchema.safeParse(raw);
    if (!req.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      return refuse(typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : 0, 'bad-request', 'not a diskchain request');
    }
    const { id, method, params } = req.data;
    if (method === SUDO_RELAY_METHOD) {
      await relay.start();
      return write(frameLine({ id, ok: true }, 'result', null));
    }
    if (method === SUDO_ANSWER_METHOD) {
      const a = SudoAnswerSchema.safeParse(params);
      if (!a.success) return refuse(id, 'bad-request', 'not a sudo answer');
      if (!relay.answer(a.data.id, a.data.answer)) return refuse(id, 'bad-request', `no sudo question ${a.data.id} waits`);
      return write(frameLine({ id, ok: true }, 'result', null));
    }
    if (!isChannel(method)) return refuse(id, 'bad-request', `unknown request '${method}'`);
    const r = await session.handle(method, params ?? {});
    if (r.ok) write(frameLine({ id, ok: true }, 'result', r.value));
    // The helper's typed refusal (helper-launch.ts) reaches here as text; its code travels on.
    else refuse(id, r.error.startsWith('no-sudo: ') ? 'no-sudo' : 'failed', r.error);
  };

  const splitter = new LineSplitter(MAX_LINE);
  let status = 0;
  await new Promise<void>((resolve) => {
    input.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = splitter.push(chunk);
      } catch (e) {
        if (!(e instanceof LineTooLong)) throw e;
        refuse(0, 'bad-request', `${e.message}: closing`);
        status = 2;
        input.destroy();
        return resolve();
      }
      for (const line of lines) {
        const p = serveLine(line).finally(() => pending.delete(p));
        pending.add(p);
      }
    });
    input.once('end', resolve);
    input.once('error', () => resolve());
  });
  relay.close();
  await Promise.allSettled([...pending]);
  await session.close();
  await new Promise<void>((resolve) => output.write('', () => resolve()));
  return status;
}

/** True when stdin is not a terminal: `agent --stdio` is for programs, not people. */
export function stdinIsPipe(): boolean {
  try {
    return !fs.fstatSync(0).isCharacterDevice();
  } catch {
    return true;
  }
}
