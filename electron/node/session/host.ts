// What a front end gives the session: Electron main and `diskchain serve` each implement it.
import type { EventData, EventName, HostInfo } from '../../../shared/ipc.js';
import type { RecentStore } from './recent.js';

/** Send an event to the renderer(s). */
export type Emit = <E extends EventName>(event: E, data: EventData<E>) => void;

export interface HandlerHost {
  mode: HostInfo['mode'];
  version: string;
  emit: Emit;
  recent: RecentStore;
  /** A native open dialog; absent where there is none. */
  showOpenDialog?: (kind: 'image' | 'folder') => Promise<string[]>;
}
