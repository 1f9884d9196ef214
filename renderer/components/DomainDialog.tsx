// Open a libvirt domain: a domain XML file, the text of `virsh dumpxml` pasted, or a domain name
// for the owning process to ask virsh about.
import { openDomain, setDomainInput, showDomainDialog, useDomain, type DomainSource } from '../state/domain.js';
import { FormFoot } from './FormFoot.js';
import { Modal } from './Modal.js';
import './domain.css';

const HINT: Record<DomainSource, string> = {
  file: '/etc/libvirt/qemu/vm1.xml',
  text: "<domain type='kvm'>…</domain>  (the output of virsh dumpxml)",
  virsh: 'vm1  (runs virsh dumpxml vm1 where virsh is installed)',
};

export function DomainDialog() {
  const open = useDomain((s) => s.dialog);
  return open ? <DomainDialogBody /> : null;
}

const close = () => showDomainDialog(false);

function DomainDialogBody() {
  const source = useDomain((s) => s.source);
  const input = useDomain((s) => s.input);
  const loading = useDomain((s) => s.loading);
  const error = useDomain((s) => s.error);
  return (
    <Modal close={close} titleId="domain-dialog-title" testId="domain-dialog">
      <form
        className="modal domain-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          void openDomain();
        }}
      >
        <h2 id="domain-dialog-title">Open a libvirt domain</h2>
        <div className="segmented" role="tablist" aria-label="from">
          {(['file', 'text', 'virsh'] as const).map((s) => (
            <button
              key={s}
              type="button"
              role="tab"
              aria-selected={source === s}
              data-testid={`domain-source-${s}`}
              onClick={() => setDomainInput({ source: s })}
            >
              {s === 'file' ? 'XML file' : s === 'text' ? 'Paste XML' : 'virsh name'}
            </button>
          ))}
        </div>
        {source === 'text' ? (
          <textarea
            data-testid="domain-input"
            value={input}
            placeholder={HINT.text}
            rows={14}
            spellCheck={false}
            autoFocus
            onChange={(e) => setDomainInput({ input: e.target.value })}
          />
        ) : (
          <input
            data-testid="domain-input"
            value={input}
            placeholder={HINT[source]}
            spellCheck={false}
            autoComplete="off"
            autoFocus
            onChange={(e) => setDomainInput({ input: e.target.value })}
          />
        )}
        {error && (
          <div className="alert error" role="alert" data-testid="domain-error">
            {error}
          </div>
        )}
        <FormFoot
          testId="domain-open"
          label="Open"
          busyLabel="Reading…"
          busy={loading}
          disabled={loading}
          dismiss="Cancel"
          onDismiss={close}
        />
      </form>
    </Modal>
  );
}
