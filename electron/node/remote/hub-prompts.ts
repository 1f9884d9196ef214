// The hosts' questions for the person at the window: ssh's (a key's passphrase, a password) and a
// host's sudo, sent as `host-prompt` events and answered with `hostPromptAnswer`. One stands open
// at a time; one not answered in time is cancelled. Answers pass through and are never kept here.
import { randomBytes } from 'node:crypto';
import { escapeText } from '../../../shared/escape.js';
import type { HostPromptKind } from '../../../shared/ipc.js';
import type { Emit } from '../session/host.js';
import type { Prompt } from './askpass.js';

/** How long a question waits for an answer before it is cancelled. */
export const PROMPT_WAIT_MS = 5 * 60_000;

/** The prompt text as the window shows it: the asker's words, bounded and escaped. */
const MAX_TEXT = 1024;

interface Open {
  id: string;
  host: string;
  settle(answer: string | null): void;
}

export class HubPrompts {
  private open: Open | null = null;
  /** Each question waits for the one before it (the askpass queue does too; this holds without it). */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly emit: Emit,
    private readonly waitMs = PROMPT_WAIT_MS,
  ) {}

  /** Ask the window; the answer, or null (cancelled, timed out, closed). */
  ask(prompt: Prompt, kind: HostPromptKind): Promise<string | null> {
    const turn = this.queue.then(() => this.show(prompt, kind));
    this.queue = turn;
    return turn;
  }

  private show(prompt: Prompt, kind: HostPromptKind): Promise<string | null> {
    if (this.closed) return Promise.resolve(null);
    const id = randomBytes(12).toString('hex');
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(id, null), this.waitMs);
      timer.unref();
      this.open = {
        id,
        host: prompt.host,
        settle: (answer) => {
          clearTimeout(timer);
          this.open = null;
          this.emit('host-prompt-closed', { promptId: id });
          resolve(answer);
        },
      };
      const text = escapeText(prompt.text.slice(0, MAX_TEXT));
      this.emit('host-prompt', { promptId: id, host: prompt.host, kind, text });
    });
  }

  /** The window's answer to prompt `id` (null: Cancel); false when that prompt no longer waits. */
  answer(id: string, answer: string | null): boolean {
    const open = this.open;
    if (!open || open.id !== id) return false;
    open.settle(answer);
    return true;
  }

  /** A host the user removed: its question no longer waits for an answer. */
  cancelHost(host: string): void {
    if (this.open?.host === host) this.open.settle(null);
  }

  /** Cancel what waits and ask nothing more. */
  close(): void {
    this.closed = true;
    this.open?.settle(null);
  }
}

/**
 * Who asks. A question that came after a host's own sudo prompt event with the same words is
 * sudo's, whatever it says: the words come from the host, and may read like ssh's.
 */
export function promptKindFor(prompt: Prompt, fromSudo: boolean): HostPromptKind {
  if (fromSudo) return 'sudo';
  if (prompt.kind === 'passphrase' || prompt.kind === 'password') return prompt.kind;
  return 'other';
}
