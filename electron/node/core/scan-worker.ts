// A scan's worker thread: reads batches of listed files (stat, labels, header) and answers with
// their records. The scanning thread blocks on `signal` meanwhile (scan() stays synchronous).
import { workerData } from 'node:worker_threads';
import { topPending } from './chain.js';
import { encodeRecords, type BatchReply, type BatchRequest, type ScanWorkerData } from './scan/protocol.js';
import { readRecord } from './scan/record.js';
import { errorText } from '../../../shared/error-text.js';

const { port, signal } = workerData as ScanWorkerData;
let scan = -1;
let dirs = new Map<string, string>();

port.on('message', (req: BatchRequest) => {
  if (req.scan !== scan) {
    scan = req.scan;
    dirs = new Map();
  }
  let reply: BatchReply;
  try {
    reply = { scan: req.scan, batch: req.batch, records: encodeRecords(req.paths.map((p) => readRecord(topPending(p), dirs, false))) };
  } catch (e) {
    reply = { scan: req.scan, batch: req.batch, error: errorText(e) };
  }
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
