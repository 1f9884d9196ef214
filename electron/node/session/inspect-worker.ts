// The inspection worker: header parsing, chain walking, folder scans and relabel planning run
// here, off the event loop that answers the window (Electron main, or `diskchain serve`).
// Requests are {id, op, args}; answers {id, ok, value} or {id, ok: false, error}; a long op may
// post {id, progress: [done, total]} before its answer.
import { parentPort } from 'node:worker_threads';
import * as forest from './forest-ops.js';
import * as libvirt from './libvirt-ops.js';
import * as ops from './ops.js';

/** A long op's progress, posted while it runs: {id, progress: [done, total]}. */
type Report = (done: number, total: number) => void;

export type WorkerOps = {
  open: typeof ops.openPath;
  plan: typeof ops.plan;
  scan: (id: string, roots: string[], cancel: Int32Array) => forest.ScanDone;
  updateForest: typeof forest.updateForest;
  dropForest: typeof forest.dropForest;
  domain: typeof libvirt.domain;
  access: typeof libvirt.access;
  exportChain: typeof libvirt.exportChain;
};

const table: { [K in keyof WorkerOps]: (report: Report, ...args: any[]) => unknown } = {
  open: (_, p: string, foldersOnly?: boolean) => ops.openPath(p, foldersOnly),
  plan: (_, ...args: Parameters<typeof ops.plan>) => ops.plan(...args),
  scan: (report, id: string, roots: string[], cancel: Int32Array) => forest.scanForest(id, roots, cancel, report),
  updateForest: (_, id: string, paths: string[]) => forest.updateForest(id, paths),
  dropForest: (_, id: string) => forest.dropForest(id),
  domain: (_, input: libvirt.DomainInput) => libvirt.domain(input),
  access: (_, ...args: Parameters<typeof libvirt.access>) => libvirt.access(...args),
  exportChain: (_, ...args: Parameters<typeof libvirt.exportChain>) => libvirt.exportChain(...args),
};

if (!parentPort) throw new Error('inspect-worker.ts runs as a worker thread');
const port = parentPort;

// Ops that wait on a child process (virsh) return a promise; the rest answer at once.
port.on('message', async (msg: { id: number; op: keyof WorkerOps; args: unknown[] }) => {
  let reply: { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
  try {
    const fn = table[msg.op];
    if (!fn) throw new Error(`unknown worker op ${String(msg.op)}`);
    const report: Report = (done, total) => port.postMessage({ id: msg.id, progress: [done, total] });
    reply = { id: msg.id, ok: true, value: await fn(report, ...msg.args) };
  } catch (e) {
    reply = { id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
