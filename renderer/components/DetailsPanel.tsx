// Everything known about the selected file: the file itself, libvirt's records, every header
// field, qemu-img's JSON, and the name exactly as stored with how it was resolved.
import { useState, type ReactNode } from 'react';
import type { RememberedRecord } from '../../shared/model.js';
import { humanSize, modeString, ownerString } from '../../shared/text.js';
import { decodeRawName, type GraphNode } from '../graph/model.js';
import { getApi } from '../api.js';
import { select, useDisks } from '../state/disks.js';
import { ROLE_LABEL, fileName, formatText } from './ChainNodeCard.js';
import { errorText } from '../../shared/error-text.js';
import { SnapshotTable } from './SnapshotTable.js';

const NO_EDGES: never[] = [];

function Row({ k, children }: { k: string; children: ReactNode }) {
  return (
    <tr>
      <th scope="row">{k}</th>
      <td>{children}</td>
    </tr>
  );
}

function Section({ title, children, open = true }: { title: string; children: ReactNode; open?: boolean }) {
  return (
    <details className="section" open={open}>
      <summary>{title}</summary>
      {children}
    </details>
  );
}

type ExportKind = 'libvirt-xml' | 'blockdev';
/** The buses a local disk image is commonly attached by (libvirt takes a few more). */
const EXPORT_BUSES = ['virtio', 'scsi', 'sata', 'ide'] as const;
type ExportBus = (typeof EXPORT_BUSES)[number];

/** A disk's chain written for libvirt or qemu, read again from the files when asked. */
function ExportSection({ top }: { top: string }) {
  const [shown, setShown] = useState<{ kind: ExportKind; text: string } | { kind: ExportKind; error: string } | null>(null);
  const [target, setTarget] = useState('');
  const [bus, setBus] = useState<ExportBus>('virtio');
  const [readonly, setReadonly] = useState(false);
  const load = async (kind: ExportKind) => {
    try {
      const opts = { target: target.trim() || undefined, bus, readonly };
      setShown({ kind, ...(await getApi().invoke('export', { top, kind, ...opts })) });
    } catch (e) {
      setShown({ kind, error: errorText(e) });
    }
  };
  return (
    <Section title="Export" open={false}>
      <p className="muted">
        The chain as libvirt takes it explicitly (&lt;backingStore&gt;, &lt;dataStore&gt;), or as qemu -blockdev nodes with the data-file
        child.
      </p>
      <form className="profile" aria-label="export options" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span>target</span>
          <input
            data-testid="export-target"
            value={target}
            placeholder="vda"
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => setTarget(e.target.value)}
          />
        </label>
        <label>
          <span>bus</span>
          <select data-testid="export-bus" value={bus} onChange={(e) => setBus(e.target.value as ExportBus)}>
            {EXPORT_BUSES.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" data-testid="export-readonly" checked={readonly} onChange={(e) => setReadonly(e.target.checked)} />
          <span>read-only</span>
        </label>
      </form>
      <div className="actions">
        <button
          type="button"
          className="small"
          data-testid="export-xml"
          aria-pressed={shown?.kind === 'libvirt-xml'}
          onClick={() => void load('libvirt-xml')}
        >
          libvirt &lt;disk&gt;
        </button>
        <button
          type="button"
          className="small"
          data-testid="export-blockdev"
          aria-pressed={shown?.kind === 'blockdev'}
          onClick={() => void load('blockdev')}
        >
          qemu -blockdev
        </button>
        {shown && 'text' in shown && (
          <button type="button" className="small" onClick={() => void navigator.clipboard?.writeText(shown.text)}>
            Copy
          </button>
        )}
      </div>
      {shown && 'text' in shown && (
        <pre className="json" data-testid="export-text">
          {shown.text}
        </pre>
      )}
      {shown && 'error' in shown && (
        <div className="alert error" role="alert">
          {shown.error}
        </div>
      )}
    </Section>
  );
}

function value(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

function Remembered({ driver, r }: { driver: string; r: RememberedRecord | null }) {
  if (!r) return <Row k={driver}>none</Row>;
  return (
    <Row k={driver}>
      <span className="mono">{r.label ?? '(no label)'}</span>, refcount {r.refcount ?? '?'}, timestamp {r.timestamp ?? 'none'}{' '}
      <span className={r.current ? 'ok' : 'warn'}>{r.current ? '(this boot)' : '(stale: from another boot, libvirt discards it)'}</span>
    </Row>
  );
}

function Details({ g }: { g: GraphNode }) {
  const n = g.node;
  const parentEdges = useDisks((s) => s.graph.in.get(g.id)) ?? NO_EDGES;
  const isTop = useDisks((s) => s.disks.some((d) => d.top === g.id));
  const st = n.stat;
  return (
    <>
      <h2 className="details-title" title={g.id}>
        {fileName(g.id)} <span className={`role-chip role-${g.role}`}>{ROLE_LABEL[g.role]}</span>
      </h2>
      <Section title="File">
        <table className="kv">
          <tbody>
            <Row k="real path">
              <span className="mono wrap" data-testid="details-path">
                {g.id}
              </span>
            </Row>
            <Row k="format">{formatText(g)}</Row>
            <Row k="virtual size">{n.header ? `${humanSize(n.header.virtualSize)} (${n.header.virtualSize} bytes)` : '—'}</Row>
            <Row k="allocated">{st ? `${humanSize(st.allocated)} (${st.allocated} bytes)` : '—'}</Row>
            <Row k="file size">{st ? `${humanSize(st.size)} (${st.size} bytes)` : '—'}</Row>
            <Row k="type">{st?.type ?? '—'}</Row>
            <Row k="owner">{n.owner ? ownerString(n.owner) : '—'}</Row>
            <Row k="mode">
              <span className="mono">
                {n.owner ? `${modeString(n.owner.mode)} (${(n.owner.mode & 0o7777).toString(8).padStart(4, '0')})` : '—'}
              </span>
            </Row>
            <Row k="selinux">
              <span className="mono wrap">{st ? (n.selinux ?? 'none') : '—'}</span>
            </Row>
            <Row k="device:inode">{st ? `${st.dev}:${st.ino}` : '—'}</Row>
            <Row k="hard links">{st ? st.nlink : '—'}</Row>
            <Row k="modified">{st ? new Date(st.mtimeMs).toLocaleString() : '—'}</Row>
            <Row k="in disks">
              {g.disks.map((d) => (
                <div key={d} className="mono wrap">
                  {d}
                </div>
              ))}
            </Row>
            {parentEdges.map((e) => (
              <Row key={e.id} k={e.kind === 'backing' ? 'backing of' : 'data file of'}>
                <button type="button" className="link mono" onClick={() => select(e.source)}>
                  {e.source}
                </button>
              </Row>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="libvirt remembered labels">
        <table className="kv">
          <tbody>
            <Remembered driver="dac" r={n.remembered.dac} />
            <Remembered driver="selinux" r={n.remembered.selinux} />
          </tbody>
        </table>
      </Section>
      {g.problems.length > 0 && (
        <Section title={`Problems (${g.problems.length})`}>
          <ul className="problem-list">
            {g.problems.map((p) => (
              <li key={`${p.code}:${p.message}`}>
                <b>{p.code}</b>: {p.message}
              </li>
            ))}
          </ul>
        </Section>
      )}
      <Section title="Name and resolution">
        <table className="kv">
          <tbody>
            <Row k="name">{<span className="mono wrap">{n.name}</span>}</Row>
            {n.nameInfo ? (
              <>
                <Row k="stored bytes">
                  <span className="mono wrap">{decodeRawName(n.nameInfo.rawHex)}</span>
                </Row>
                <Row k="hex">
                  <span className="mono wrap">{n.nameInfo.rawHex || '(empty)'}</span>
                </Row>
                <Row k="kind">{n.nameInfo.kind}</Row>
                <Row k="qemu opens">
                  <span className="mono wrap">{n.nameInfo.qemuPath}</span>
                </Row>
                <Row k="libvirt joins">
                  <span className="mono wrap">{n.nameInfo.joined}</span>
                </Row>
              </>
            ) : (
              <Row k="named by">the user (top of the disk)</Row>
            )}
            <Row k="after realpath">
              <span className="mono wrap">{g.id}</span>
            </Row>
            <Row k="format from">{n.formatSource ?? 'never read'}</Row>
            <Row k="depth">{n.depth}</Row>
          </tbody>
        </table>
      </Section>
      {n.header && (
        <Section title="Header">
          <table className="kv" data-testid="header-fields">
            <tbody>
              <Row k="format">{n.header.format}</Row>
              <Row k="virtual size">{n.header.virtualSize}</Row>
              <Row k="cluster size">{value(n.header.clusterSize)}</Row>
              <Row k="encrypted">{value(n.header.encrypted)}</Row>
              <Row k="dirty">{value(n.header.dirty)}</Row>
              {Object.entries(n.header.fields).map(([k, v]) => (
                <Row key={k} k={k}>
                  <span className="mono wrap">{value(v)}</span>
                </Row>
              ))}
            </tbody>
          </table>
          {n.header.extensions.length > 0 && (
            <table className="kv">
              <caption>header extensions</caption>
              <tbody>
                {n.header.extensions.map((x, i) => (
                  <Row key={i} k={`0x${x.type.toString(16).padStart(8, '0')}`}>
                    {x.name} ({x.length} bytes)
                  </Row>
                ))}
              </tbody>
            </table>
          )}
        </Section>
      )}
      {n.header?.snapshots?.length ? (
        <Section title={`Internal snapshots (${n.header.snapshots.length})`}>
          <SnapshotTable snapshots={n.header.snapshots} />
        </Section>
      ) : null}
      {isTop && <ExportSection key={g.id} top={g.id} />}
      <Section title="qemu-img info --output=json" open={false}>
        {g.qemu ? (
          <pre className="json" data-testid="qemu-json">
            {JSON.stringify(g.qemu, null, 4)}
          </pre>
        ) : g.role === 'data-file' ? (
          <p className="muted">A data file has no header; qemu-img shows it under its image's format-specific data (data-file).</p>
        ) : (
          <p className="muted">qemu-img does not reach this file the way libvirt does (see the problems and the name above).</p>
        )}
        {n.header?.formatSpecific != null && (
          <>
            <h4>format-specific</h4>
            <pre className="json">{JSON.stringify(n.header.formatSpecific, null, 4)}</pre>
          </>
        )}
      </Section>
    </>
  );
}

export function DetailsPanel() {
  const g = useDisks((s) => (s.selected ? (s.graph.byId.get(s.selected) ?? null) : null));
  return (
    <aside className="details" data-testid="details" aria-label="details of the selected file">
      {g ? (
        <Details g={g} />
      ) : (
        <p className="muted placeholder">
          Select a file in the graph (click it, or use the arrow keys) to see its headers, names and labels.
        </p>
      )}
    </aside>
  );
}
