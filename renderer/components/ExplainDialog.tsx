// "Explain an error…": paste what qemu, libvirt, the audit log or the kernel printed when a VM
// could not open its disk; the owning process finds each file, the chain top using it, and says
// which layer refused whom, with the verdict now and a way to the fix.
import { useState, type ReactNode } from 'react';
import type { Res } from '../../shared/ipc.js';
import { verdictHeadline, type Denial } from '../../shared/verdict.js';
import { getApi } from '../api.js';
import { showDomain } from '../state/domain.js';
import { errorText } from '../state/notices.js';
import { openChain } from '../state/open.js';
import { openPanel, updateForm } from '../state/panel.js';
import { Breakable } from './ChainNodeCard.js';
import { FormFoot } from './FormFoot.js';
import './domain.css';

const HINT = [
  "qemu-system-x86_64: -blockdev …: Could not open '/srv/vm/base.qcow2': Permission denied",
  "error: Cannot access storage file '/srv/vm/top.qcow2' (as uid:107, gid:107): Permission denied",
  'type=AVC msg=audit(…): avc:  denied  { read } for … name="base.qcow2" ino=… scontext=… tcontext=…',
  'apparmor="DENIED" operation="open" profile="libvirt-…" name="/srv/vm/base.qcow2" … fsuid=64055',
].join('\n');

/** The access check of the denial's chain, for the subject the record names (or libvirt's default). */
async function fix(d: Denial, close: () => void): Promise<void> {
  if (!d.top) return;
  if (d.verdict) updateForm({ user: d.verdict.subject.user, group: d.verdict.subject.group });
  close();
  showDomain(false);
  await openChain(d.top);
  openPanel('access', { top: d.top, domain: null });
}

function Row({ name, children }: { name: string; children: ReactNode }) {
  return (
    <tr data-field={name}>
      <th scope="row">{name}</th>
      <td>{children}</td>
    </tr>
  );
}

function DenialItem({ d, close }: { d: Denial; close: () => void }) {
  const blocked = d.verdict?.state === 'blocked';
  return (
    <li className="explain-denial" data-testid="explain-denial" data-source={d.source} data-layers={d.layers.join(' ')}>
      <h3>
        {d.source}, line {d.line}
      </h3>
      <table className="kv">
        <tbody>
          <Row name="file">
            <span className="mono breakable" data-testid="explain-file">
              <Breakable text={d.file ?? d.named} />
            </span>
            {!d.file && <span className="muted"> (not found)</span>}
          </Row>
          <Row name="chain top">
            <span className="mono breakable" data-testid="explain-top">
              <Breakable text={d.top ?? '—'} />
            </span>
          </Row>
          <Row name="subject">
            <span data-testid="explain-subject">{d.subject.text}</span>
          </Row>
          <Row name="denied by">
            <ul className="plain" data-testid="explain-layers">
              {d.layers.map((l, i) => (
                <li key={l}>
                  <b>{l}</b>
                  {d.explanation[i] ? `: ${d.explanation[i]}` : ''}
                </li>
              ))}
            </ul>
          </Row>
          <Row name="verdict now">
            <span className={blocked ? 'warn' : 'ok'} data-testid="explain-verdict" data-state={d.verdict?.state ?? 'unknown'}>
              {d.verdict ? verdictHeadline(d.verdict) : 'no verdict'}
            </span>
            {d.verdict?.blockers.map((b, i) => (
              <div key={`${b.path}:${i}`} className="muted small">
                {b.kind}: {b.reason}
              </div>
            ))}
          </Row>
        </tbody>
      </table>
      {d.problems.map((p) => (
        <p key={p} className="warn">
          {p}
        </p>
      ))}
      {d.top && (
        <button type="button" className="small" data-testid="explain-fix" onClick={() => void fix(d, close)}>
          Fix…
        </button>
      )}
    </li>
  );
}

function ExplainDialog({ close }: { close: () => void }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<Res<'explain'> | null>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await getApi().invoke('explain', { text }));
    } catch (e) {
      setResult(null);
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="modal-backdrop" onClick={close}>
      <form
        className="modal domain-dialog"
        role="dialog"
        aria-label="explain an error"
        data-testid="explain-dialog"
        onClick={(e) => e.stopPropagation()}
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
        onKeyDown={(e) => e.key === 'Escape' && close()}
      >
        <h2>Explain an error</h2>
        <p className="muted">
          Paste qemu&apos;s or libvirt&apos;s &ldquo;Permission denied&rdquo; message, an SELinux AVC record or an AppArmor DENIED record.
        </p>
        <textarea
          data-testid="explain-text"
          aria-label="denial records"
          value={text}
          placeholder={HINT}
          rows={8}
          spellCheck={false}
          autoFocus
          onChange={(e) => setText(e.target.value)}
        />
        {error && (
          <div className="alert error" role="alert" data-testid="explain-error">
            {error}
          </div>
        )}
        {result && (
          <section aria-live="polite" data-testid="explain-result">
            {result.denials.length === 0 && <p className="muted">No denial record found in the text.</p>}
            <ol className="plain">
              {result.denials.map((d) => (
                <DenialItem key={`${d.line}:${d.named}`} d={d} close={close} />
              ))}
            </ol>
            {result.skippedLines > 0 && <p className="muted">{result.skippedLines} line(s) too long to read were skipped.</p>}
          </section>
        )}
        <FormFoot
          testId="explain-go"
          label="Explain"
          busyLabel="Reading…"
          busy={busy}
          disabled={busy || !text.trim()}
          dismiss="Close"
          onDismiss={close}
        />
      </form>
    </div>
  );
}

/** The toolbar's button and the dialog it opens. */
export function ExplainButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        data-testid="explain"
        onClick={() => setOpen(true)}
        title="Explain a Permission denied message, an SELinux or AppArmor denial"
      >
        Explain an error…
      </button>
      {open && <ExplainDialog close={() => setOpen(false)} />}
    </>
  );
}
