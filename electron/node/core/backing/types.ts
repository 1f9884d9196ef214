// What libvirt's backing parser gives for one name: a structured source, or its refusal.
import type { BackingHost, BackingSource } from '../../../../shared/model.js';

export type { BackingHost, BackingSource };

/** libvirt refuses the name: it fails the whole chain with this message. */
export class BackingError extends Error {}

export interface Parsed {
  source: BackingSource;
  /** libvirt's return value 1: valid, but inline credentials are dropped. */
  inlineAuth: boolean;
}

/** virStringParsePort: absent is 0 (the protocol's default later); otherwise digits up to 65535. */
export function parsePort(text: string | undefined | null): number {
  if (text === undefined || text === null) return 0;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new BackingError(`failed to parse port number '${text}'`);
  return Number(text);
}

/** The network protocols libvirt knows (virStorageNetProtocol). */
export const PROTOCOLS = new Set([
  'nbd',
  'rbd',
  'sheepdog',
  'gluster',
  'iscsi',
  'http',
  'https',
  'ftp',
  'ftps',
  'tftp',
  'ssh',
  'vxhs',
  'nfs',
]);

/** virStorageSourceNetworkDefaultPort; 0: none (rbd, nfs). */
const DEFAULT_PORTS: Record<string, number> = {
  http: 80,
  https: 443,
  ftp: 21,
  ftps: 990,
  tftp: 69,
  sheepdog: 7000,
  nbd: 10809,
  ssh: 22,
  iscsi: 3260,
  gluster: 24007,
  vxhs: 9999,
};

/** virStorageSourceNetworkAssignDefaultPorts: every TCP host without a port gets the protocol's. */
export function assignDefaultPorts(src: BackingSource): void {
  const port = DEFAULT_PORTS[src.protocol ?? ''];
  if (!port) return;
  for (const h of src.hosts ?? []) if (h.transport === 'tcp' && !h.port) h.port = port;
}

/** A host as libvirt stores it: no port field when there is none. */
export function tcpHost(name: string | undefined, port: number): BackingHost {
  return { transport: 'tcp', ...(name !== undefined ? { name } : {}), ...(port ? { port } : {}) };
}
