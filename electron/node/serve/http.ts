// `diskchain serve`: the built renderer and the IPC handlers over HTTP and a WebSocket, for a
// browser on this machine or at the end of an SSH tunnel. Everything lives under /<token>/,
// a random secret printed once; requests without it, from another Origin, or naming a host that
// is neither an address nor localhost (DNS rebinding) are refused before anything else runs.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { ClientMessageSchema, type EventData, type EventName, type ServerMessage } from '../../../shared/ipc.js';
import { Session } from '../session/session.js';
import { MemoryRecent } from '../session/recent.js';
import { SECURITY_HEADERS, contentType, resolveAsset } from './web.js';

export { findRendererDir } from './web.js';

/** Largest WebSocket message accepted (a request is a few paths and a profile). */
const MAX_MESSAGE = 256 * 1024;

export interface ServeOptions {
  host?: string;
  port?: number;
  /** Images or folders opened at start (absolute). */
  paths?: string[];
  /** The built renderer (index.html and assets). */
  rendererDir: string;
  version: string;
  /** Fixed token, for tests; random otherwise. */
  token?: string;
}

export interface Served {
  url: string;
  token: string;
  port: number;
  host: string;
  session: Session;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Host header → hostname, or null when malformed. */
function hostnameOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  try {
    const u = new URL(`http://${hostHeader}`);
    return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return null;
  }
}

export async function startServe(opts: ServeOptions): Promise<Served> {
  const listenHost = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const rendererDir = fs.realpathSync(opts.rendererDir);
  const sockets = new Set<WebSocket>();

  const session = new Session(
    {
      mode: 'serve',
      version: opts.version,
      recent: new MemoryRecent(),
      emit<E extends EventName>(event: E, data: EventData<E>) {
        const msg: ServerMessage = { type: 'event', event, data };
        const text = JSON.stringify(msg);
        for (const s of sockets) if (s.readyState === s.OPEN) s.send(text);
      },
    },
    opts.paths ?? [],
  );

  /** Names a browser may use for us: any address literal, localhost, or the name we listen on. */
  const hostAllowed = (hostHeader: string | undefined): boolean => {
    const name = hostnameOf(hostHeader);
    if (!name) return false;
    if (net.isIP(name)) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    return name === listenHost.toLowerCase();
  };

  /** No Origin (a typed URL), or exactly our own. */
  const originAllowed = (req: http.IncomingMessage, required: boolean): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return !required;
    return origin === `http://${req.headers.host}`;
  };

  /** The request's path after /<token>, or null when the token is missing or wrong. */
  const afterToken = (rawUrl: string | undefined): string | null => {
    if (!rawUrl || !rawUrl.startsWith('/')) return null;
    const pathname = rawUrl.split(/[?#]/, 1)[0]!;
    const slash = pathname.indexOf('/', 1);
    const first = Buffer.from(slash < 0 ? pathname.slice(1) : pathname.slice(1, slash));
    if (first.length !== tokenBuf.length || !timingSafeEqual(first, tokenBuf)) return null;
    return slash < 0 ? '' : pathname.slice(slash);
  };

  const refuse = (res: http.ServerResponse, status: number, text: string) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  };

  const server = http.createServer((req, res) => {
    if (!hostAllowed(req.headers.host)) return refuse(res, 421, 'unknown host name');
    if (!originAllowed(req, false)) return refuse(res, 403, 'foreign origin');
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return refuse(res, 403, 'cross-site request');
    const rest = afterToken(req.url);
    if (rest === null) return refuse(res, 403, 'missing or wrong token: use the URL diskchain serve printed');
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed');
    if (rest === '') {
      res.writeHead(308, { ...SECURITY_HEADERS, Location: `/${token}/` });
      return res.end();
    }
    const file = resolveAsset(rendererDir, rest);
    if (!file) return refuse(res, 404, 'not found');
    let data: Buffer;
    try {
      data = fs.readFileSync(file);
    } catch {
      return refuse(res, 404, 'not found');
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': contentType(file), 'Content-Length': data.length });
    res.end(req.method === 'HEAD' ? undefined : data);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false });

  server.on('upgrade', (req, socket, head) => {
    const deny = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${text}\n`);
    };
    if (!hostAllowed(req.headers.host)) return deny(421, 'Misdirected Request');
    if (!originAllowed(req, true)) return deny(403, 'Forbidden');
    if (afterToken(req.url) !== '/ws') return deny(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    // Oversized or malformed frames: ws closes the socket (1009, 1002); never let it throw here.
    ws.on('error', () => ws.terminate());
    ws.on('message', async (raw, isBinary) => {
      let msg: unknown;
      try {
        if (isBinary) throw new Error('binary');
        msg = JSON.parse(raw.toString());
      } catch {
        ws.close(1003, 'not JSON');
        return;
      }
      const env = ClientMessageSchema.safeParse(msg);
      if (!env.success) {
        ws.close(1008, 'not a diskchain request');
        return;
      }
      const result = await session.handle(env.data.channel, env.data.payload);
      const out: ServerMessage = { type: 'result', id: env.data.id, ...result };
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(out));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
  const hostPart = net.isIPv6(shownHost) ? `[${shownHost}]` : shownHost;
  return {
    url: `http://${hostPart}:${addr.port}/${token}/`,
    token,
    port: addr.port,
    host: listenHost,
    session,
    async close() {
      for (const s of sockets) s.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await session.close();
    },
  };
}
