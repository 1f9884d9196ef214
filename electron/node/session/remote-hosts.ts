// What the session needs of remote hosts (electron/node/remote/hub.ts implements it). The session
// may not import the remote layer (it sits above it), so the front ends' shared code
// (serve/web.ts, loaded by serve and Electron main alike) provides the maker at start.
import type { Channel, HostStatus, Req, Res } from '../../../shared/ipc.js';
import type { Emit } from './host.js';

export interface RemoteHosts {
  list(): HostStatus[];
  add(spec: string): Promise<HostStatus>;
  remove(host: string): Promise<boolean>;
  trustKey(host: string, shown: string[]): Promise<HostStatus>;
  connect(host: string): Promise<HostStatus>;
  /** The user's answer to a `host-prompt` (null: cancelled); false when it no longer waits. */
  answerPrompt(promptId: string, answer: string | null): boolean;
  request<C extends Channel>(host: string, channel: C, payload: Req<C>): Promise<Res<C>>;
  /** A `host:path` id of a known host, split; null otherwise. */
  route(id: string): { host: string; path: string } | null;
  /** The host that made this plan, if one did. */
  planHost(planId: string): string | undefined;
  /** The last change applied on `host` this session (what its undo reverts), if any. */
  lastJournal(host: string): string | null;
  /** The host whose last change has this journal id, if one has. */
  journalHost(journalId: string): string | undefined;
  close(): Promise<void>;
}

let maker: ((emit: Emit) => RemoteHosts) | null = null;

export function provideRemoteHosts(make: (emit: Emit) => RemoteHosts): void {
  maker = make;
}

/** The remote hosts for a session, or null where none were provided (the agent, tests). */
export function makeRemoteHosts(emit: Emit): RemoteHosts | null {
  return maker ? maker(emit) : null;
}
