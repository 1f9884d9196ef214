// The inspection worker, seen from the owning process: typed calls, one thread, restarted if it
// dies. Works from source (tsx) and from the esbuild bundle (dist/electron/inspect-worker.js).
import { Worker } from 'node:worker_threads';
import { workerScript } from '../core/scan/worker-script.js';
import type { Report, RequestOf, WorkerArgs, WorkerOp, WorkerReply, WorkerResult } from './worker-contract.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: Report };

/** The worker's script: the bundle's inspect-worker.js, or from source the .ts through tsx. */
function script(): URL {
  const url = workerScript(
    import.meta.url,
    new URL('./inspect-worker.ts', import.meta.url),
    new URL('./inspect-worker.js', import.meta.url),
  );
  if (!url) throw new Error('this build holds no inspection worker (inspect-worker.js)');
  return url;
}

export class InspectWorker {
  private worker: Worker | null = null;
  private next = 1;
  private pending = new Map<number, Pending>();
  private closed = false;

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(script());
    w.unref();
    w.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) {
        p.progress?.(m.progress[0], m.progress[1], m.files);
        return;
      }
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
    const fail = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new Error(`the inspection worker stopped: ${e.message}`));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.worker = w;
    return w;
  }

  /** Start the thread now (it loads the parsers), so the first request does not wait for it. */
  warm(): void {
    if (this.closed) return;
    try {
      this.start().unref();
    } catch {
      // No script to start: the first call says so.
    }
  }

  call<K extends WorkerOp>(op: K, ...args: WorkerArgs<K>): Promise<WorkerResult<K>> {
    return this.callWithProgress(op, undefined, ...args);
  }

  /** A call whose op reports progress while it runs. */
  callWithProgress<K extends WorkerOp>(op: K, progress: Report | undefined, ...args: WorkerArgs<K>): Promise<WorkerResult<K>> {
    if (this.closed) return Promise.reject(new Error('the inspection worker is closed'));
    let w: Worker;
    try {
      w = this.start();
    } catch (e) {
      // A build without the worker's script: the call fails, as when the thread dies.
      return Promise.reject(e as Error);
    }
    const id = this.next++;
    w.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
      const req: RequestOf<K> = { id, op, args };
      w.postMessage(req);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
