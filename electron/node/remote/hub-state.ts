// What a failed or changed connection means for the host's row in the forest.
import type { HostStateName } from '../../../shared/ipc.js';
import type { HostState } from './connection.js';
import { RemoteError } from './errors.js';

const FROM_CODE: Partial<Record<string, HostStateName>> = {
  'needs-password': 'needs-password',
  'unknown-host-key': 'unknown-host-key',
  'changed-host-key': 'changed-host-key',
  'agent-missing': 'agent-missing',
  'agent-too-old': 'agent-too-old',
  'agent-too-new': 'agent-too-new',
  reconnecting: 'reconnecting',
};

/** A handshake's failure as a state and a message that names the host. */
export function failureState(host: string, e: unknown): { state: HostStateName; message: string } {
  if (e instanceof RemoteError) return { state: FROM_CODE[e.code] ?? 'offline', message: e.message };
  const text = e instanceof Error ? e.message : String(e);
  return { state: 'offline', message: `cannot reach ${host}: ${text}` };
}

/** The connection's own state as the host's (null: nothing to show). */
export function connectionState(s: HostState): HostStateName | null {
  if (s === 'ready') return 'connected';
  if (s === 'connecting' || s === 'reconnecting' || s === 'offline') return s;
  return null;
}
