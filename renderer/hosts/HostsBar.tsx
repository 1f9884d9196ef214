// The hosts above the forest: each host's state (and why, naming the host), a folder to scan
// there, Retry and Remove. The forest itself draws every host's trees, grouped by host.
import { useState } from 'react';
import type { HostStatus } from '../../shared/ipc.js';
import { connectHost, removeHost, scanOnHost, useHosts } from '../state/hosts.js';
import './hosts.css';

const LABEL: Record<HostStatus['state'], string> = {
  idle: 'not connected',
  connecting: 'connecting…',
  'needs-password': 'needs a password',
  'unknown-host-key': 'unknown host key',
  'changed-host-key': 'host key changed',
  'agent-missing': 'diskchain missing',
  'agent-too-old': 'diskchain too old there',
  'agent-too-new': 'diskchain newer there',
  offline: 'offline',
  reconnecting: 'reconnecting…',
  connected: 'connected',
};

export function HostsBar() {
  const hosts = useHosts((s) => s.hosts);
  if (!hosts.length) return null;
  return (
    <section className="hosts-bar" aria-label="hosts" data-testid="hosts-bar">
      {hosts.map((h) => (
        <HostRow key={h.id} host={h} />
      ))}
    </section>
  );
}

function HostRow({ host }: { host: HostStatus }) {
  const [folder, setFolder] = useState('');
  const scanning = useHosts((s) => s.scanning[host.id]);
  const bad = host.state !== 'connected' && host.state !== 'connecting' && host.state !== 'reconnecting' && host.state !== 'idle';
  return (
    <div className={`host-row${bad ? ' bad' : ''}`} data-testid="host-row" data-host={host.id} data-state={host.state}>
      <strong className="host-id">{host.id}</strong>
      <span className="host-state" data-testid="host-state">
        {LABEL[host.state]}
      </span>
      {scanning && (
        <span className="muted" data-testid="host-scanning">
          {scanning.total ? `${scanning.done} of ${scanning.total} files` : 'scanning…'}
        </span>
      )}
      {host.message && bad && (
        <span className="host-message" role="alert" data-testid="host-message">
          {host.message}
        </span>
      )}
      {host.privilege && (
        <span className="host-message" role="alert" data-testid="host-privilege">
          {host.privilege.message}
        </span>
      )}
      {host.state === 'connected' && (
        <form
          className="host-scan"
          onSubmit={(e) => {
            e.preventDefault();
            if (folder.trim()) void scanOnHost(host.id, [folder.trim()]);
          }}
        >
          <input
            data-testid="host-folder"
            aria-label={`folder to scan on ${host.id}`}
            placeholder="/var/lib/libvirt/images"
            value={folder}
            spellCheck={false}
            onChange={(e) => setFolder(e.target.value)}
          />
          <button type="submit" data-testid="host-scan" disabled={!folder.trim() || !!scanning}>
            Scan there
          </button>
        </form>
      )}
      {host.state !== 'connected' && host.state !== 'connecting' && host.state !== 'changed-host-key' && (
        <button type="button" data-testid="host-retry" onClick={() => void connectHost(host.id)}>
          Retry
        </button>
      )}
      <button type="button" data-testid="host-remove" onClick={() => void removeHost(host.id)} title={`Forget ${host.id}`}>
        Remove
      </button>
    </div>
  );
}
