// A libvirt domain: every disk's chain as the XML states it beside the chain its headers give,
// with each difference flagged on its level, and the VM profile with where each value came from.
import {
  diskTop,
  type Difference,
  type DomainDisk,
  type HeaderLayer,
  type ResolvedProfile,
  type Sourced,
  type XmlLayer,
} from '../../shared/domain.js';
import { select, useDisks } from '../state/disks.js';
import { closeDomain, reloadDomain, showDomain, useDomain } from '../state/domain.js';
import { setView } from '../state/forest.js';
import { openPanel, type PanelAction } from '../state/panel.js';
import { Breakable } from './ChainNodeCard.js';
import './domain.css';

function yesNo(v: boolean): string {
  return v ? 'yes' : 'no';
}

/** One setting: its value and where it came from (the domain view and the relabel panel). */
export function SourcedRow({ name, value, source }: { name: string; value: string; source: string }) {
  return (
    <tr data-testid="profile-row" data-field={name}>
      <th scope="row">{name}</th>
      <td className="mono breakable" data-testid="profile-value">
        <Breakable text={value} />
      </td>
      <td className="muted source" data-testid="profile-source">
        <Breakable text={source} />
      </td>
    </tr>
  );
}

function Setting({ name, v, show }: { name: string; v: Sourced<unknown>; show?: (x: unknown) => string }) {
  const text = show ? show(v.value) : v.value === null ? '—' : typeof v.value === 'boolean' ? yesNo(v.value) : String(v.value);
  return <SourcedRow name={name} value={text} source={v.source} />;
}

function ProfileTable({ p }: { p: ResolvedProfile }) {
  return (
    <table className="kv sourced" data-testid="domain-profile">
      <caption>VM profile, as libvirt resolves it</caption>
      <thead>
        <tr>
          <th>setting</th>
          <th>value</th>
          <th>from</th>
        </tr>
      </thead>
      <tbody>
        <Setting
          name="security_driver"
          v={p.securityDrivers}
          show={(x) => ((x as string[]).length ? (x as string[]).join(', ') : 'none')}
        />
        <Setting name="dynamic_ownership" v={p.dynamicOwnership} />
        <Setting name="remember_owner" v={p.rememberOwner} />
        <Setting name="dac" v={p.dac.enabled} />
        <Setting name="user" v={p.dac.user} />
        <Setting name="group" v={p.dac.group} />
        <Setting name="selinux" v={p.selinux.enabled} />
        <Setting name="image label" v={p.selinux.imageLabel} show={(x) => (x === null ? 'random categories' : String(x))} />
      </tbody>
    </table>
  );
}

const FLAGGED = new Set([
  'path-differs',
  'format-differs',
  'extra-level',
  'missing-level',
  'terminated-early',
  'data-file-missing',
  'data-file-extra',
  'data-file-differs',
  'data-file-format',
]);

function xmlCell(l: XmlLayer | undefined) {
  if (!l) return <span className="muted">(not listed)</span>;
  return (
    <>
      <span className="fmt">{l.format ?? '?'}</span>{' '}
      <span className="mono breakable">
        <Breakable text={l.display} />
      </span>
      {l.dataStore && (
        <div className="datastore">
          data <span className="fmt">{l.dataStore.format ?? '?'}</span>{' '}
          <span className="mono breakable">
            <Breakable text={l.dataStore.display} />
          </span>
        </div>
      )}
    </>
  );
}

function headerCell(h: HeaderLayer | undefined) {
  if (!h) return <span className="muted">(none)</span>;
  return (
    <>
      <span className="fmt">{h.format ?? '?'}</span>{' '}
      <span className="mono breakable">
        <Breakable text={h.path} />
      </span>
      {h.dataFile && (
        <div className="datastore">
          data{' '}
          <span className="mono breakable">
            <Breakable text={h.dataFile.path} />
          </span>
        </div>
      )}
      {h.problems.map((p) => (
        <div key={p} className="warn">
          {p}
        </div>
      ))}
    </>
  );
}

function ChainCompare({ disk }: { disk: DomainDisk }) {
  const header = disk.headerChain ?? [];
  const depth = Math.max(disk.xmlChain.length, header.length);
  const byLevel = new Map<number, Difference[]>();
  for (const d of disk.differences) if (d.depth !== null) byLevel.set(d.depth, [...(byLevel.get(d.depth) ?? []), d]);
  const rows = Array.from({ length: depth }, (_, i) => i);
  return (
    <table className="plan compare" data-testid="chain-compare">
      <thead>
        <tr>
          <th>level</th>
          <th>the XML says</th>
          <th>the headers say</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((i) => {
          const flags = (byLevel.get(i) ?? []).filter((d) => FLAGGED.has(d.code));
          return (
            <tr
              key={i}
              data-testid="compare-row"
              data-depth={i}
              data-differs={flags.length ? 'true' : 'false'}
              className={flags.length ? 'differs' : ''}
            >
              <td>{i === 0 ? 'top' : `backing ${i}`}</td>
              <td>{xmlCell(disk.xmlChain[i])}</td>
              <td>
                {headerCell(header[i])}
                {flags.map((d) => (
                  <div key={d.code} className="flag" title={d.message}>
                    {d.code}
                  </div>
                ))}
              </td>
            </tr>
          );
        })}
        {disk.xmlChainEnd === 'open' && disk.xmlChain.length > 0 && (
          <tr className="muted">
            <td colSpan={3}>The XML lists no &lt;backingStore&gt; below this: libvirt reads the rest from the headers.</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/**
 * The panel on this disk's own top, whichever tab is active: the forest's selection is another
 * disk (or none), so the top is named and the chain view, which holds it, is shown behind.
 */
function actOn(top: string, action: PanelAction, domain: string | null): void {
  setView('chain');
  select(top);
  openPanel(action, { domain, top });
}

function DiskSection({ disk, profile, domainId }: { disk: DomainDisk; profile: ResolvedProfile | null; domainId: string }) {
  const top = diskTop(disk);
  const opened = useDisks((s) => (top ? s.disks.some((d) => d.top === top) : false));
  const view = profile?.disks.find((d) => d.target === disk.target);
  const errors = disk.differences.filter((d) => d.severity !== 'info').length;
  return (
    <section className="domain-disk" data-testid="domain-disk" data-target={disk.target ?? ''} data-differences={errors}>
      <h3>
        <span className="mono">{disk.target ?? '(no target)'}</span>{' '}
        <span className="muted">
          {disk.device}
          {disk.bus ? `, ${disk.bus}` : ''}, {disk.type}
        </span>
        {disk.readonly && <span className="badge">read-only</span>}
        {disk.shareable && <span className="badge">shareable</span>}
        {errors > 0 ? (
          <span className="badge problem">
            {errors} difference{errors === 1 ? '' : 's'}
          </span>
        ) : (
          <span className="badge ok-badge">XML matches the headers</span>
        )}
      </h3>
      <ChainCompare disk={disk} />
      {disk.differences.length > 0 && (
        <ul className="differences" data-testid="differences">
          {disk.differences.map((d, i) => (
            <li key={i} className={d.severity} data-testid="difference" data-code={d.code} data-severity={d.severity}>
              <b>{d.code}</b>
              {d.depth !== null ? ` (level ${d.depth})` : ''}: {d.message}
            </li>
          ))}
        </ul>
      )}
      {view && (
        <table className="kv sourced" data-testid="disk-profile">
          <tbody>
            <Setting name="read-only" v={view.readonly} />
            <Setting name="shareable" v={view.shareable} />
            <Setting name="dac relabel" v={view.dac.relabel} />
            <Setting name="dac label" v={view.dac.label} show={(x) => (x === null ? "the VM's" : String(x))} />
            <Setting name="selinux relabel" v={view.selinux.relabel} />
            <Setting name="selinux label" v={view.selinux.label} show={(x) => (x === null ? "the VM's" : String(x))} />
          </tbody>
        </table>
      )}
      {top && opened && (
        <div className="actions">
          <button
            type="button"
            className="small"
            onClick={() => {
              showDomain(false);
              setView('chain');
              select(top);
            }}
          >
            Show in graph
          </button>
          <button
            type="button"
            className="small"
            data-testid="domain-relabel"
            disabled={!profile}
            onClick={() => actOn(top, 'relabel', domainId)}
          >
            Relabel with this profile…
          </button>
          <button
            type="button"
            className="small"
            data-testid="domain-access"
            onClick={() => actOn(top, 'access', profile ? domainId : null)}
          >
            Check access…
          </button>
        </div>
      )}
    </section>
  );
}

export function DomainPanel() {
  const domain = useDomain((s) => s.domain);
  if (!domain) return null;
  return (
    <div className="domain-view" data-testid="domain-view" aria-label={`domain ${domain.name ?? ''}`}>
      <header className="panel-head">
        <h2>
          Domain <span className="mono">{domain.name ?? '(unnamed)'}</span>
          {domain.uuid && <span className="muted mono small"> {domain.uuid}</span>}
        </h2>
        <div>
          <button type="button" className="small" onClick={() => void reloadDomain()} title="Read the XML and the headers again">
            Reload
          </button>
          <button type="button" className="icon" aria-label="close domain" onClick={closeDomain}>
            ✕
          </button>
        </div>
      </header>
      <p className="muted">
        From <span className="mono">{domain.origin}</span>; qemu.conf: <span className="mono">{domain.qemuConf.path}</span>
        {domain.qemuConf.found ? '' : ' (not found: libvirt defaults)'}
      </p>
      {domain.profileError && (
        <div className="alert error" role="alert" data-testid="profile-error">
          {domain.profileError}
        </div>
      )}
      {domain.profile && <ProfileTable p={domain.profile} />}
      {domain.profile?.notes.map((n) => (
        <p key={n} className="note">
          {n}
        </p>
      ))}
      {domain.disks.map((d, i) => (
        <DiskSection key={`${d.target}-${i}`} disk={d} profile={domain.profile} domainId={domain.id} />
      ))}
      {domain.disks.length === 0 && <p className="muted">This domain has no disks.</p>}
    </div>
  );
}
