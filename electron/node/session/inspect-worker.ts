// The inspection worker: header parsing, chain walking, folder scans and relabel planning run
// here, off the event loop that answers the window (Electron main, or `diskchain serve`).
// Requests and answers are worker-contract.ts's; a long op may post its progress before its answer.
import { parentPort } from 'node:worker_threads';
import { warmScanPool } from '../core/scan.js';
import * as forest from './forest-ops.js';
import * as libvirt from './libvirt-ops.js';
import * as ops from './ops.js';
import { explainDenials } from '../access/denial.js';
import type { Report, RequestOf, WorkerOp, WorkerReply, WorkerRequest, WorkerResult, WorkerTable } from './worker-contract.js';
import { errorText } from '../../../shared/error-text.js';

const table: WorkerTable = {
  open: (_, p, foldersOnly) => ops.openPath(p, foldersOnly),
  plan: (_, ...args) => ops.plan(...args),
  scan: (report, id, roots, cancel) => forest.scanForest(id, roots, cancel, report),
  updateForest: (_, id, paths) => forest.updateForest(id, paths),
  dropForest: (_, id) => forest.dropForest(id),
  warmScan: () => warmScanPool(),
  domain: (_, input) => libvirt.domain(input),
  access: (_, ...args) => libvirt.access(...args),
  exportChain: (_, ...args) => libvirt.exportChain(...args),
  explain: (_, text, dirs) => explainDenials(text, { in: dirs }),
};

if (!parentPort) throw new Error('inspect-worker.ts runs as a worker thread');
const port = parentPort;
const post = (m: WorkerReply) => port.postMessage(m);

/** The table's entry for the request's op, called with the request's arguments. */
function run<K extends WorkerOp>(msg: RequestOf<K>, report: Report): Promise<WorkerResult<K>> | WorkerResult<K> {
  if (!Object.prototype.hasOwnProperty.call(table, msg.op)) throw new Error(`unknown worker op ${String(msg.op)}`);
  const fn: WorkerTable[K] = table[msg.op];
  return fn(report, ...msg.args);
}

// Ops that wait on a child process (virsh) return a promise; the rest answer at once.
port.on('message', async (msg: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const report: Report = (done, total, files) => post({ id: msg.id, progress: [done, total], ...(files ? { files } : {}) });
    reply = { id: msg.id, ok: true, value: await run(msg, report) };
  } catch (e) {
    reply = { id: msg.id, ok: false, error: errorText(e) };
  }
  post(reply);
});
