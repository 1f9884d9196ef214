// `sudo -A` for the helper on a host reached over ssh, where the app's askpass socket is out of
// reach: once the client opts in (SUDO_RELAY_METHOD), the agent serves an askpass of its own
// (askpass.ts) and gives each of sudo's questions to the client as a SUDO_PROMPT_EVENT; the
// client answers with SUDO_ANSWER_METHOD. No answer in time, or a cancel, is sudo's "no password".
import * as os from 'node:os';
import type { SudoPrompt } from '../../../shared/agent.js';
import { askpassFor, type AskpassLease } from './askpass.js';

/** How long a question waits for the person at the client. */
const ANSWER_WAIT_MS = 5 * 60_000;

export class SudoRelay {
  private lease: AskpassLease | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: string | null) => void>();

  constructor(private readonly emit: (prompt: SudoPrompt) => void) {}

  /**
   * From now on the helper is started with `sudo -A` where `sudo -n` is not allowed
   * (helper-launch.ts reads SUDO_ASKPASS), its questions coming here.
   */
  async start(): Promise<void> {
    if (this.lease) return;
    this.lease = await askpassFor(os.hostname(), (p) => this.ask(p.text));
    // Not SSH_ASKPASS*: ssh processes this agent starts keep their own askpass.
    const { SSH_ASKPASS, DISKCHAIN_ASKPASS_SOCKET, DISKCHAIN_ASKPASS_TOKEN } = this.lease.env;
    Object.assign(process.env, { SUDO_ASKPASS: SSH_ASKPASS, DISKCHAIN_ASKPASS_SOCKET, DISKCHAIN_ASKPASS_TOKEN });
  }

  private ask(text: string): Promise<string | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(id, null), ANSWER_WAIT_MS);
      timer.unref();
      this.waiting.set(id, (answer) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(answer);
      });
      this.emit({ id, host: os.hostname(), text: text.slice(0, 4096) });
    });
  }

  /** The client's answer to question `id` (null: cancelled); false when no such question waits. */
  answer(id: number, answer: string | null): boolean {
    const settle = this.waiting.get(id);
    settle?.(answer);
    return settle !== undefined;
  }

  close(): void {
    for (const id of [...this.waiting.keys()]) this.answer(id, null);
    this.lease?.release();
    this.lease = null;
    for (const v of ['SUDO_ASKPASS', 'DISKCHAIN_ASKPASS_SOCKET', 'DISKCHAIN_ASKPASS_TOKEN']) delete process.env[v];
  }
}
