// The renderer's only way out: `window.diskchain` from Electron's preload, or the same API over
// the WebSocket of `diskchain serve`. Both are typed by shared/ipc.ts.
import {
  events,
  isEvent,
  type Channel,
  type ClientMessage,
  type DiskchainApi,
  type EventData,
  type EventName,
  type Req,
  type Res,
  type ServerMessage,
} from '../shared/ipc.js';

declare global {
  interface Window {
    diskchain?: DiskchainApi;
  }
}

type Listener = (data: unknown) => void;

/** The WebSocket transport: one connection, reopened when it drops; requests fail while it is down. */
export function socketApi(url: string): DiskchainApi & { onStatus(fn: (up: boolean) => void): void } {
  let ws: WebSocket | null = null;
  let opening: Promise<WebSocket> | null = null;
  let nextId = 1;
  let retry = 500;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<EventName, Set<Listener>>();
  const statusListeners = new Set<(up: boolean) => void>();
  const status = (up: boolean) => statusListeners.forEach((f) => f(up));

  const connect = (): Promise<WebSocket> => {
    if (ws && ws.readyState === WebSocket.OPEN) return Promise.resolve(ws);
    if (opening) return opening;
    opening = new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(url);
      s.onopen = () => {
        ws = s;
        opening = null;
        retry = 500;
        status(true);
        resolve(s);
      };
      s.onmessage = (ev) => {
        let msg: ServerMessage;
        try {
          msg = JSON.parse(String(ev.data)) as ServerMessage;
        } catch {
          return;
        }
        if (msg.type === 'result') {
          const p = pending.get(msg.id);
          if (!p) return;
          pending.delete(msg.id);
          if (msg.ok) p.resolve(msg.value);
          else p.reject(new Error(msg.error));
        } else if (msg.type === 'event' && isEvent(msg.event)) {
          const parsed = events[msg.event].safeParse(msg.data);
          if (!parsed.success) return;
          listeners.get(msg.event)?.forEach((f) => f(parsed.data));
        }
      };
      s.onclose = () => {
        const wasOpen = ws === s;
        ws = null;
        opening = null;
        for (const p of pending.values()) p.reject(new Error('lost the connection to diskchain serve; is it still running?'));
        pending.clear();
        if (wasOpen) status(false);
        else reject(new Error('cannot reach diskchain serve; is it still running?'));
        // Come back by ourselves, so events (menu opens, progress) keep arriving.
        if (listeners.size) {
          setTimeout(() => void connect().catch(() => undefined), retry);
          retry = Math.min(retry * 2, 5000);
        }
      };
    });
    return opening;
  };

  return {
    async invoke<C extends Channel>(channel: C, req: Req<C>): Promise<Res<C>> {
      const s = await connect();
      const id = nextId++;
      const msg: ClientMessage = { id, channel, payload: req };
      return new Promise<Res<C>>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        s.send(JSON.stringify(msg));
      });
    },
    on<E extends EventName>(event: E, listener: (data: EventData<E>) => void): () => void {
      const set = listeners.get(event) ?? listeners.set(event, new Set()).get(event)!;
      set.add(listener as Listener);
      void connect().catch(() => undefined);
      return () => set.delete(listener as Listener);
    },
    pathForFile: () => null,
    onStatus(fn) {
      statusListeners.add(fn);
    },
  };
}

let api: DiskchainApi | null = null;

export function getApi(): DiskchainApi {
  if (api) return api;
  if (window.diskchain) return (api = window.diskchain);
  const u = new URL('ws', window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  return (api = socketApi(u.href));
}

/** For tests and the store: swap the transport. */
export function setApi(a: DiskchainApi): void {
  api = a;
}
