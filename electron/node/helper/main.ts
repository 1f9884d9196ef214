// diskchain's privileged helper: started by the app through pkexec or sudo (or directly when the
// app is root), it reads one JSON request per line on stdin and answers one JSON line on stdout.
// It re-inspects and re-plans every change itself and refuses anything that differs from what
// it was asked; see change/contract.ts for the verbs. While a run changes files it sends
// progress lines for it, and takes a cancel line for it between files.
import * as fs from 'node:fs';
import { trustSudoCaller } from '../change/consent.js';
import { INSTALLED_LAUNCHER } from '../change/helper-launch.js';
import { CancelLineSchema, MAX_LINE, type HelperProgressLine, type VerbContext } from '../change/contract.js';
import { handleLine } from './server.js';

process.umask(0o022);
// Started by sudo (the scoped rule of `install-helper --sudoers`), SUDO_UID is the caller, held to
// the same consent rules as pkexec's.
trustSudoCaller(INSTALLED_LAUNCHER);
// Ctrl-C on the terminal reaches the whole process group: the client turns it into a cancel
// line, and the run puts back what it did; dying here would leave it half-done until recovery.
process.on('SIGINT', () => {});

/** How often a run looks for a cancel line that came while it holds the event loop. */
const POLL_MS = 50;

let buffered: Buffer[] = [];
let size = 0;
let queue: Promise<void> = Promise.resolve();
/** Requests the client asked to stop (kept until answered). */
const cancelled = new Set<number>();

function send(msg: unknown): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

function contextFor(id: number): VerbContext {
  let polled = 0;
  return {
    progress: (progress) => send({ id, progress } satisfies HelperProgressLine),
    cancelled: () => {
      const now = performance.now();
      if (now - polled >= POLL_MS) {
        polled = now;
        pollInput();
      }
      return cancelled.has(id);
    },
  };
}

function answer(line: string): void {
  const res = handleLine(line, contextFor);
  if (res.id !== null) cancelled.delete(res.id);
  send(res);
}

/** The id a cancel line names; null for any other line. A cancel is noted, never answered. */
function cancelOf(line: string): number | null {
  if (!line.includes('"cancel"')) return null;
  try {
    const r = CancelLineSchema.safeParse(JSON.parse(line));
    return r.success ? r.data.cancel : null;
  } catch {
    return null;
  }
}

function accept(line: string): void {
  if (!line.trim()) return;
  const id = cancelOf(line);
  if (id !== null) {
    // A cancel for a request already answered is never removed: keep the set bounded.
    if (cancelled.size >= 1024) cancelled.clear();
    cancelled.add(id);
  } else queue = queue.then(() => answer(line));
}

function feed(chunk: Buffer): void {
  let start = 0;
  for (;;) {
    const nl = chunk.indexOf(10, start);
    if (nl < 0) break;
    const part = chunk.subarray(start, nl);
    const line = Buffer.concat([...buffered, part]).toString('utf8');
    buffered = [];
    size = 0;
    start = nl + 1;
    accept(line);
  }
  if (start < chunk.length) {
    const rest = chunk.subarray(start);
    size += rest.length;
    if (size > MAX_LINE) {
      send({ id: null, ok: false, error: `request longer than ${MAX_LINE} bytes` });
      process.exit(2);
    }
    buffered.push(Buffer.from(rest));
  }
}

/**
 * Read what came on stdin while a run holds the event loop (libuv keeps the pipe non-blocking,
 * so an empty pipe answers EAGAIN at once): a bounded number of chunks, each fed as the stream
 * would have fed it.
 */
function pollInput(): void {
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (let i = 0; i < 16; i++) {
    let n: number;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch {
      return;
    }
    if (n === 0) return;
    feed(buf.subarray(0, n));
  }
}

process.stdin.on('data', (chunk: Buffer) => feed(chunk));

process.stdin.on('end', () => {
  void queue.then(() => process.exit(0));
});
