// Reading a scan's files on worker threads, one per core, while scan() stays synchronous: the
// scanning thread hands out batches of listed paths, then blocks on a shared counter the workers
// bump after each answer, and takes the answers off their ports without its event loop. Batches
// are handed back in listed order, so a scan's result does not depend on which worker ran first.
// The threads stay a little while after a scan (a second scan does not start them again).
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { decodeRecords, type BatchReply, type BatchRequest, type ScanWorkerData } from './protocol.js';
import type { FileRecord } from './record.js';
import { workerScript } from './worker-script.js';

/** Files a worker reads per request: enough to make a message worth it, few enough to stream. */
export const BATCH_FILES = 256;
/** Requests each worker holds at once, so it never waits for the scanning thread. */
const IN_FLIGHT = 2;
/** At most this many threads, whatever the core count. */
const MAX_WORKERS = 8;
/** No answer for this long: the workers are taken as dead (a worker cannot say so while we block). */
const STALL_MS = 30_000;
/** Each worker's young generation (V8's default is tens of MB). */
const YOUNG_MB = 2;
/** Idle threads are stopped after this long. */
const IDLE_MS = 10_000;
/** Threads started ahead of a scan wait longer: the user still has to pick a folder. */
const WARM_IDLE_MS = 120_000;

interface Thread {
  worker: Worker;
  port: MessagePort;
  inFlight: number;
}

export class ScanWorkersFailed extends Error {}

/** How many threads a scan uses by default: one per core. */
export function defaultWorkers(): number {
  return Math.min(MAX_WORKERS, availableParallelism());
}

class Pool {
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly threads: Thread[] = [];
  private scans = 0;
  private idle: NodeJS.Timeout | null = null;

  constructor(script: URL, count: number) {
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      const data: ScanWorkerData = { port: port2, signal: this.signal };
      // A small young generation: a worker's garbage is short-lived, and each megabyte counts in
      // the scan's peak memory (110,000 files on a 250 MB budget).
      const worker = new Worker(script, {
        workerData: data,
        transferList: [port2],
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB },
      });
      worker.unref();
      worker.on('error', () => this.dispose());
      this.threads.push({ worker, port: port1, inFlight: 0 });
    }
  }

  get size(): number {
    return this.threads.length;
  }

  /** Stopped after WARM_IDLE_MS unless a scan comes first (a pool started ahead of any scan). */
  expireWhenIdle(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.dispose(), WARM_IDLE_MS).unref();
  }

  dispose(): void {
    if (pool === this) pool = null;
    if (this.idle) clearTimeout(this.idle);
    for (const t of this.threads) void t.worker.terminate();
    this.threads.length = 0;
  }

  /**
   * Read `paths` in batches; `onBatch(start, records)` gets them in order and may return false to
   * stop (the threads are then stopped: their answers would be stale).
   */
  read(paths: string[], onBatch: (start: number, records: FileRecord[]) => boolean): boolean {
    if (this.idle) clearTimeout(this.idle);
    const scan = ++this.scans;
    const batches = Math.ceil(paths.length / BATCH_FILES);
    const ready = new Map<number, string>();
    let next = 0;
    let delivered = 0;
    let quietSince = performance.now();
    try {
      while (delivered < batches) {
        for (const t of this.threads) {
          while (t.inFlight < IN_FLIGHT && next < batches) {
            const req: BatchRequest = { scan, batch: next, paths: paths.slice(next * BATCH_FILES, (next + 1) * BATCH_FILES) };
            t.port.postMessage(req);
            t.inFlight++;
            next++;
          }
        }
        // Read the counter before the ports: an answer posted after this wakes the wait below.
        const seen = Atomics.load(this.signal, 0);
        let got = false;
        for (const t of this.threads) {
          for (let m = receiveMessageOnPort(t.port); m; m = receiveMessageOnPort(t.port)) {
            const reply = m.message as BatchReply;
            t.inFlight--;
            got = true;
            if ('error' in reply) throw new ScanWorkersFailed(`a scan worker failed: ${reply.error}`);
            if (reply.scan === scan) ready.set(reply.batch, reply.records);
          }
        }
        for (let r = ready.get(delivered); r; r = ready.get(delivered)) {
          ready.delete(delivered);
          if (!onBatch(delivered * BATCH_FILES, decodeRecords(r))) {
            this.dispose();
            return false;
          }
          delivered++;
        }
        if (got) quietSince = performance.now();
        else if (delivered < batches) {
          Atomics.wait(this.signal, 0, seen, 1000);
          if (performance.now() - quietSince > STALL_MS) throw new ScanWorkersFailed('the scan workers stopped answering');
        }
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.idle = setTimeout(() => this.dispose(), IDLE_MS).unref();
    return true;
  }
}

let pool: Pool | null = null;

/**
 * Start the threads ahead of a scan that is likely soon (a remote host just connected): they take
 * hundreds of milliseconds to load, which would otherwise delay the first trees of the first scan.
 */
export function warmScanPool(): void {
  scanPool(defaultWorkers())?.expireWhenIdle();
}

/** The threads for a scan, started now if need be; null when this build holds no worker script. */
export function scanPool(workers: number): Pool | null {
  if (pool && pool.size !== workers) pool.dispose();
  if (pool) return pool;
  const script = workerScript(import.meta.url, new URL('../scan-worker.ts', import.meta.url), new URL('./scan-worker.js', import.meta.url));
  if (!script) return null;
  pool = new Pool(script, workers);
  return pool;
}
