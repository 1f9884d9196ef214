// A slow link for the remote tests: a TCP proxy (ssh → proxy → sshd) that lets through at most
// `bytesPerSecond` in each direction (a token bucket per direction, shared by all its
// connections, as one link would be) and counts the bytes it carried.
import { once } from 'node:events';
import * as net from 'node:net';

/** 1 Mbit/s. */
export const ONE_MBIT = 125_000;
/** Bytes written at once: small, so the rate is smooth and each wait short. */
const SLICE = 4096;

class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private turn: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Wait until `n` bytes may pass; callers are served in order. */
  take(n: number): Promise<void> {
    const mine = this.turn.then(async () => {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens < n) {
        const wait = ((n - this.tokens) / this.rate) * 1000;
        await new Promise((r) => setTimeout(r, wait));
        this.tokens += (wait / 1000) * this.rate;
        this.last = Date.now();
      }
      this.tokens -= n;
    });
    this.turn = mine;
    return mine;
  }
}

export interface Throttle {
  port: number;
  /** Bytes carried so far: towards the server (up) and towards the client (down). */
  bytes: { up: number; down: number };
  close(): Promise<void>;
}

async function pump(from: net.Socket, to: net.Socket, bucket: TokenBucket, count: (n: number) => void): Promise<void> {
  for await (const chunk of from as AsyncIterable<Buffer>) {
    for (let off = 0; off < chunk.length; off += SLICE) {
      const piece = chunk.subarray(off, off + SLICE);
      await bucket.take(piece.length);
      if (to.destroyed) return;
      count(piece.length);
      if (!to.write(piece)) await once(to, 'drain');
    }
  }
  to.end();
}

/** Listen on 127.0.0.1 and forward each connection to target, at `bytesPerSecond` each way. */
export async function startThrottle(target: { addr: string; port: number }, bytesPerSecond = ONE_MBIT): Promise<Throttle> {
  const up = new TokenBucket(bytesPerSecond, SLICE * 2);
  const down = new TokenBucket(bytesPerSecond, SLICE * 2);
  const bytes = { up: 0, down: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.addr);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    pump(client, upstream, up, (n) => (bytes.up += n)).catch(cut);
    pump(upstream, client, down, (n) => (bytes.down += n)).catch(cut);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
