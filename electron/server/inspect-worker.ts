// The inspection worker: header parsing, chain walking, folder scans and relabel planning run
// here, off the event loop that answers the window (Electron main, or `diskchain serve`).
// Requests are {id, op, args}; answers {id, ok, value} or {id, ok: false, error}.
import { parentPort } from 'node:worker_threads';
import * as ops from './ops.js';

export type WorkerOps = {
  open: typeof ops.openPath;
  plan: typeof ops.plan;
};

const table: { [K in keyof WorkerOps]: (...args: any[]) => unknown } = {
  open: ops.openPath,
  plan: ops.plan,
};

if (!parentPort) throw new Error('inspect-worker.ts runs as a worker thread');
const port = parentPort;

port.on('message', (msg: { id: number; op: keyof WorkerOps; args: unknown[] }) => {
  let reply: { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
  try {
    const fn = table[msg.op];
    if (!fn) throw new Error(`unknown worker op ${String(msg.op)}`);
    reply = { id: msg.id, ok: true, value: fn(...msg.args) };
  } catch (e) {
    reply = { id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
