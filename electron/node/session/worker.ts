// The inspection worker, seen from the owning process: typed calls, one thread, restarted if it
// dies. Works from source (tsx) and from the esbuild bundle (dist/electron/inspect-worker.js).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Report, RequestOf, WorkerArgs, WorkerOp, WorkerReply, WorkerResult } from './worker-contract.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: Report };

/** The worker's script: the bundle's inspect-worker.js, or from source the .ts through tsx. */
function workerScript(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./inspect-worker.js', import.meta.url);
  // Node 20 does not apply --import to workers: register tsx inside the worker, then load it.
  const req = createRequire(import.meta.url);
  const api = pathToFileURL(path.join(path.dirname(req.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const script = new URL('./inspect-worker.ts', import.meta.url).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(script)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

export class InspectWorker {
  private worker: Worker | null = null;
  private next = 1;
  private pending = new Map<number, Pending>();
  private closed = false;

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(workerScript());
    w.unref();
    w.on('message', (m: WorkerReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if ('progress' in m) {
        p.progress?.(m.progress[0], m.progress[1]);
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
    if (!this.closed) this.start().unref();
  }

  call<K extends WorkerOp>(op: K, ...args: WorkerArgs<K>): Promise<WorkerResult<K>> {
    return this.callWithProgress(op, undefined, ...args);
  }

  /** A call whose op reports progress while it runs. */
  callWithProgress<K extends WorkerOp>(op: K, progress: Report | undefined, ...args: WorkerArgs<K>): Promise<WorkerResult<K>> {
    if (this.closed) return Promise.reject(new Error('the inspection worker is closed'));
    const w = this.start();
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
