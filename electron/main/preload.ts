// The preload (sandboxed, CommonJS once built): the renderer's one door, `window.diskchain`,
// shaped by shared/ipc.ts. It forwards contract channels only, hands back plain values or plain
// Errors, and never exposes ipcRenderer, events' senders, or anything of Node.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import './zod-config.js';
import { events, isChannel, isEvent, type DiskchainApi, type Result } from '../../shared/ipc.js';

const api: DiskchainApi = {
  invoke: (async (channel: unknown, req: unknown) => {
    if (!isChannel(channel)) throw new Error(`unknown request '${String(channel).slice(0, 64)}'`);
    const r = (await ipcRenderer.invoke(channel, req)) as Result<unknown> | undefined;
    if (r && r.ok) return r.value;
    throw new Error(r && !r.ok ? r.error : 'no answer');
  }) as DiskchainApi['invoke'],

  on: ((event: unknown, listener: (data: unknown) => void) => {
    if (!isEvent(event) || typeof listener !== 'function') throw new Error(`unknown event '${String(event).slice(0, 64)}'`);
    const wrapped = (_e: IpcRendererEvent, data: unknown) => {
      const parsed = events[event].safeParse(data);
      if (parsed.success) listener(parsed.data);
    };
    ipcRenderer.on(event, wrapped);
    return () => {
      ipcRenderer.removeListener(event, wrapped);
    };
  }) as DiskchainApi['on'],

  pathForFile(file: File): string | null {
    try {
      return webUtils.getPathForFile(file) || null;
    } catch {
      return null;
    }
  },
};

contextBridge.exposeInMainWorld('diskchain', api);
