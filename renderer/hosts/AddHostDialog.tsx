// "Add host…": an ssh:// URL, then (for a host whose key ssh does not know) the trust step with
// the key's fingerprints; a changed key is refused in plain words, never offered to trust.
import { useState } from 'react';
import { FormFoot } from '../components/FormFoot.js';
import { Modal } from '../components/Modal.js';
import { addHost, showAddHost, trustHost, useHosts } from '../state/hosts.js';
import './hosts.css';

export function AddHostDialog() {
  const open = useHosts((s) => s.add.step !== 'closed');
  return open ? <AddHostBody /> : null;
}

const close = () => showAddHost(false);

function AddHostBody() {
  const add = useHosts((s) => s.add);
  const [spec, setSpec] = useState('');
  if (add.step === 'closed') return null;
  return (
    <Modal close={close} titleId="add-host-title" testId="add-host-dialog">
      {add.step === 'trust' ? (
        <div className="modal add-host">
          <h2 id="add-host-title">Trust {add.host.id}?</h2>
          <p>
            ssh does not know this host's key. Compare its fingerprint with the one the host's administrator gives you (
            <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> there) before trusting it.
          </p>
          <ul className="fingerprints" data-testid="host-fingerprints">
            {(add.host.fingerprints ?? []).map((f) => (
              <li key={f}>
                <code>{f}</code>
              </li>
            ))}
          </ul>
          {add.error && (
            <div className="alert error" role="alert" data-testid="add-host-error">
              {add.error}
            </div>
          )}
          <footer className="panel-foot">
            <button
              type="button"
              className="primary"
              data-testid="host-trust"
              disabled={add.busy || !add.host.fingerprints}
              onClick={() => void trustHost()}
            >
              {add.busy ? 'Connecting…' : 'Trust and connect'}
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </footer>
        </div>
      ) : (
        <form
          className="modal add-host"
          onSubmit={(e) => {
            e.preventDefault();
            void addHost(spec);
          }}
        >
          <h2 id="add-host-title">Add a host</h2>
          <p className="muted">Connects with your ssh (its config, keys and known hosts), as virt-manager does.</p>
          <input
            data-testid="add-host-input"
            aria-label="host"
            value={spec}
            placeholder="ssh://[user@]host[:port]  or  qemu+ssh://user@host/system"
            spellCheck={false}
            autoComplete="off"
            autoFocus
            onChange={(e) => setSpec(e.target.value)}
          />
          {add.error && (
            <div className="alert error" role="alert" data-testid="add-host-error">
              {add.error}
            </div>
          )}
          <FormFoot
            testId="add-host-go"
            label="Add"
            busyLabel="Connecting…"
            busy={add.busy}
            disabled={add.busy || !spec.trim()}
            dismiss="Cancel"
            onDismiss={close}
          />
        </form>
      )}
    </Modal>
  );
}
