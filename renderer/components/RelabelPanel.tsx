// Relabel / Restore: the VM profile, a live preview of every file's before → after, Apply with
// progress, and the outcome. Apply only runs the exact plan the table shows.
import type { Role } from '../../shared/model.js';
import type { ResolvedProfile } from '../../shared/domain.js';
import type { PlanEntry, Refusal } from '../../shared/plan.js';
import type { ProfileField } from '../../shared/rules.js';
import { getApi } from '../api.js';
import { useDisks } from '../state/disks.js';
import { useDomain } from '../state/domain.js';
import { useHost } from '../state/host.js';
import {
  allowFolders,
  applyCurrent,
  canApply,
  closePanel,
  changeCount,
  profileOf,
  setAction,
  setPanelDomain,
  setPanelTop,
  updateForm,
  usePanel,
  type ApplyState,
  type DriverChoice,
} from '../state/panel.js';
import { AccessFindings, FolderFixRows } from './AccessSection.js';
import { Breakable, ROLE_LABEL, fileName } from './ChainNodeCard.js';
import { SourcedRow } from './DomainPanel.js';
import './field-error.css';

function stateText(e: PlanEntry, which: 'before' | 'after'): string[] {
  const s = e[which];
  const names = s.user !== undefined || s.group !== undefined ? `${s.user ?? s.uid}:${s.group ?? s.gid} ` : '';
  return [`${names}(${s.uid}:${s.gid})`, s.selinux ?? 'no label'];
}

/** The engine speaks to the command line too; say its hints the way this window works. */
export function inPlainWords(message: string): string {
  return message.replace(
    /add its folder with --allow-root/g,
    'open its folder (type the folder path, or Open folder…) to allow changes there',
  );
}

const ROLE_WORDS: Record<Role, string> = { image: 'image', backing: 'backing file', 'data-file': 'data file' };

/** "data file /etc/shadow is outside the allowed folders": the file, what it is, and why. */
export function refusalText(r: Refusal, role: Role | undefined): string {
  const msg = inPlainWords(r.message);
  if (!r.path) return msg;
  const who = `${role ? `${ROLE_WORDS[role]} ` : ''}${r.path}`;
  if (/^outside\b/.test(msg)) return `${who} is ${msg}`;
  if (/^(is|has|was|cannot|could|names|still)\b/.test(msg)) return `${who} ${msg}`;
  return `${who}: ${msg}`;
}

/** The folders a refusal says lie outside those opened: opening them is the user's one-click consent. */
export function outsideFolders(refusals: Refusal[]): string[] {
  const out = new Set<string>();
  for (const r of refusals) {
    const cut = r.path.lastIndexOf('/');
    if (cut >= 0 && /outside the allowed folders/.test(r.message)) out.add(r.path.slice(0, cut) || '/');
  }
  return [...out];
}

/** A file the plan refuses to change stays in the table, with why. */
function RefusedRow({ r, role }: { r: Refusal; role: Role | undefined }) {
  return (
    <tr data-testid="plan-row" data-path={r.path} data-role={role} data-changes="false" data-refused="true" className="refused">
      <td className="mono wrap" title={r.path}>
        {fileName(r.path)}
      </td>
      <td>{role ? ROLE_LABEL[role] : ''}</td>
      <td colSpan={2}>refused: {inPlainWords(r.message)}</td>
    </tr>
  );
}

function PlanRow({ e, done }: { e: PlanEntry; done?: boolean }) {
  const changes = e.changes.length > 0;
  const [bOwner, bLabel] = stateText(e, 'before');
  const [aOwner, aLabel] = stateText(e, 'after');
  return (
    <tr
      data-testid="plan-row"
      data-path={e.path}
      data-role={e.role}
      data-changes={changes ? 'true' : 'false'}
      data-done={done && changes ? 'true' : undefined}
      className={changes ? 'changes' : 'same'}
    >
      <td className="mono wrap" title={e.path}>
        {fileName(e.path)}
      </td>
      <td>
        {ROLE_LABEL[e.role]}
        {e.top ? ' (top)' : ''}
      </td>
      <td>
        {changes ? (
          <ul className="change-list">
            {e.changes.map((c) => (
              <li key={c} className="mono breakable">
                <Breakable text={c} />
              </li>
            ))}
          </ul>
        ) : (
          <span className="muted">
            unchanged: <span className="mono">{bOwner}</span>,{' '}
            <span className="mono breakable">
              <Breakable text={bLabel!} />
            </span>
          </span>
        )}
        {done && changes && <b className="ok"> done</b>}
        {e.note && <div className="note">{e.note}</div>}
        <span className="sr-only">
          before {bOwner} {bLabel}; after {aOwner} {aLabel}
        </span>
      </td>
      <td>{e.remembered ? 'yes' : 'no'}</td>
    </tr>
  );
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/** "Access fixed: 1 folder changed.": an access fix changes folders as well as files, counted apart. */
/** The helper puts back every file the apply changed; the apply then answers as rolled back. */
function cancelApply(planId: string): void {
  getApi()
    .invoke('cancelApply', { planId })
    .catch(() => undefined);
}

function doneText(apply: ApplyState): string | null {
  const plan = apply.applied;
  const r = apply.result;
  if (!plan?.access || !r || r.ok === false) return apply.message;
  const folders = Math.min(plan.access.folders.filter((f) => f.changes.length > 0).length, r.changed);
  const files = r.changed - folders;
  const parts = [files || !folders ? count(files, 'file') : '', folders ? count(folders, 'folder') : ''].filter(Boolean);
  return `Access fixed: ${parts.join(' and ')} changed.`;
}

/**
 * Bases of this disk that another open disk uses too and whose owner the relabel changes: the
 * other VM sees the new owner, and it stays after Restore (libvirt restores the top's files only).
 */
function SharedBaseWarning({ entries, top, usersOf }: { entries: PlanEntry[]; top: string; usersOf: (file: string) => string[] }) {
  const shared = entries.filter((e) => !e.top && e.changes.some((c) => c.startsWith('owner ')) && usersOf(e.path).some((t) => t !== top));
  if (!shared.length) return null;
  return (
    <p className="note warn" role="note" data-testid="shared-base-warning">
      {shared.length === 1 ? 'A base' : `${shared.length} bases`} this disk shares with another open disk will change owner:{' '}
      <span className="mono breakable">{shared.map((e) => fileName(e.path)).join(', ')}</span>. The other VM sees the new owner, and it
      stays after Restore: libvirt does not restore backing files.
    </p>
  );
}

/** Each typed field's input; its problem is `<id>-error`. */
const FIELD_ID: Record<ProfileField, string> = { user: 'relabel-user', group: 'relabel-group', imageLabel: 'relabel-label' };

/** A typed field's problem, right under it (the input names it with aria-describedby). */
function FieldError({ field, message }: { field: ProfileField; message: string | undefined }) {
  if (!message) return null;
  const id = `${FIELD_ID[field]}-error`;
  return (
    <small className="field-error" id={id} data-testid={id}>
      {message}
    </small>
  );
}

/** The attributes that tie an input to its FieldError. */
function invalidProps(field: ProfileField, message: string | undefined) {
  return message ? { 'aria-invalid': true, 'aria-describedby': `${FIELD_ID[field]}-error` } : {};
}

/** The domain's profile for this disk, each value with where it came from (read-only). */
function DomainProfileSummary({ p, top }: { p: ResolvedProfile; top: string }) {
  const disk = p.disks.find((d) => d.path === top) ?? p.disks.find((d) => fileName(d.path) === fileName(top));
  const rows: Array<[string, string, string]> = [
    ['drivers', p.drivers.join(' + ') || 'none', `${p.dac.enabled.source}; ${p.selinux.enabled.source}`],
    ['user', p.dac.user.value, p.dac.user.source],
    ['group', p.dac.group.value, p.dac.group.source],
    ['image label', p.selinux.imageLabel.value ?? 'random categories', p.selinux.imageLabel.source],
    ['remember owner', p.rememberOwner.value ? 'yes' : 'no', p.rememberOwner.source],
  ];
  if (disk) {
    rows.push(['read-only', disk.readonly.value ? 'yes' : 'no', disk.readonly.source]);
    rows.push(['shareable', disk.shareable.value ? 'yes' : 'no', disk.shareable.source]);
    rows.push(['dac relabel', disk.dac.relabel.value ? 'yes' : 'no', disk.dac.relabel.source]);
    rows.push(['selinux relabel', disk.selinux.relabel.value ? 'yes' : 'no', disk.selinux.relabel.source]);
  }
  return (
    <table className="kv sourced wide" data-testid="panel-domain-profile">
      <tbody>
        {rows.map(([k, v, src]) => (
          <SourcedRow key={k} name={k} value={v} source={src} />
        ))}
      </tbody>
    </table>
  );
}

export function RelabelPanel() {
  const panel = usePanel((s) => s.panel);
  const disks = useDisks((s) => s.disks);
  const form = usePanel((s) => s.form);
  const plan = usePanel((s) => s.plan);
  const apply = usePanel((s) => s.apply);
  const info = useHost((s) => s.info);
  const applicable = usePanel(canApply);
  const graph = useDisks((s) => s.graph);
  const domain = useDomain((s) => s.domain);
  if (!panel) return null;
  const roleOf = (p: string): Role | undefined => graph.byId.get(p)?.role;
  // Just applied: the table shows what was done, not a preview of the next run.
  const applied = apply.status === 'done' ? (apply.applied ?? null) : null;
  const p = applied ?? plan.plan;
  const running = apply.status === 'running';
  const access = panel.action === 'access';
  const nothing = !applied && plan.status === 'ready' && !access && p && p.refusals.length === 0 && changeCount(p) === 0;
  const listed = new Set(p?.entries.map((e) => e.path));
  const refusedFiles = p?.refusals.filter((r) => r.path && !listed.has(r.path)) ?? [];
  const outside = p ? outsideFolders(p.refusals) : [];
  const fields = panel.domain ? {} : profileOf(form).fields;

  return (
    <aside className="relabel" data-testid="relabel-panel" aria-label={`${panel.action} a disk`}>
      <header className="panel-head">
        <div className="segmented" role="tablist" aria-label="action">
          <button
            type="button"
            role="tab"
            aria-selected={panel.action === 'relabel'}
            onClick={() => setAction('relabel')}
            disabled={running}
          >
            Relabel
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={panel.action === 'restore'}
            onClick={() => setAction('restore')}
            disabled={running}
          >
            Restore
          </button>
          <button
            type="button"
            role="tab"
            data-testid="tab-access"
            aria-selected={access}
            onClick={() => setAction('access')}
            disabled={running}
          >
            Access
          </button>
        </div>
        <button type="button" className="icon" aria-label="close" title="Close (Esc)" onClick={closePanel}>
          ✕
        </button>
      </header>
      <p className="muted explain">
        {panel.action === 'relabel'
          ? 'Give the files of this disk the owner and label a VM with this profile gets from libvirt; the originals are remembered.'
          : panel.action === 'restore'
            ? 'Put back the owner and label libvirt remembered before the VM started, as libvirt does when it stops.'
            : "What stops the VM's user from opening each file of this disk (every folder on the way too), and the smallest fix."}
      </p>
      <form className="profile" onSubmit={(e) => e.preventDefault()} aria-label="VM profile">
        <label className="wide">
          <span>disk</span>
          <select data-testid="relabel-disk" value={panel.top} onChange={(e) => setPanelTop(e.target.value)} disabled={running}>
            {disks.map((d) => (
              <option key={d.top} value={d.top}>
                {d.top}
              </option>
            ))}
            {!disks.some((d) => d.top === panel.top) && <option value={panel.top}>{panel.top}</option>}
          </select>
        </label>
        {domain && (
          <label className="wide">
            <span>profile from</span>
            <select
              data-testid="profile-from"
              value={panel.domain ?? ''}
              onChange={(e) => setPanelDomain(e.target.value || null)}
              disabled={running}
            >
              <option value="">this form</option>
              <option value={domain.id} disabled={!domain.profile}>
                domain {domain.name ?? domain.origin} (qemu.conf and its seclabels)
              </option>
            </select>
          </label>
        )}
        {panel.domain && domain?.profile ? (
          <DomainProfileSummary p={domain.profile} top={panel.top} />
        ) : (
          <>
            <label>
              <span>drivers</span>
              <select
                data-testid="relabel-driver"
                value={form.driver}
                onChange={(e) => updateForm({ driver: e.target.value as DriverChoice })}
                disabled={running}
              >
                <option value="dac">dac</option>
                <option value="selinux">selinux</option>
                <option value="dac,selinux">dac + selinux</option>
              </select>
            </label>
            {(['user', 'group'] as const).map((k) => (
              <label key={k}>
                <span>{k}</span>
                <input
                  data-testid={`relabel-${k}`}
                  value={form[k]}
                  placeholder={(k === 'user' ? info?.defaultUser : info?.defaultGroup) ?? 'qemu'}
                  spellCheck={false}
                  autoComplete="off"
                  onChange={(e) => updateForm({ [k]: e.target.value })}
                  disabled={running}
                  {...invalidProps(k, fields[k])}
                />
                <FieldError field={k} message={fields[k]} />
              </label>
            ))}
            <label className="wide">
              <span>image label</span>
              <input
                data-testid="relabel-label"
                value={form.label}
                placeholder="system_u:object_r:svirt_image_t:s0:cX,cY (random categories when empty)"
                spellCheck={false}
                autoComplete="off"
                onChange={(e) => updateForm({ label: e.target.value })}
                disabled={running}
                {...invalidProps('imageLabel', fields.imageLabel)}
              />
              <FieldError field="imageLabel" message={fields.imageLabel} />
            </label>
            <label className="check">
              <input
                type="checkbox"
                data-testid="relabel-readonly"
                checked={form.readonly}
                onChange={(e) => updateForm({ readonly: e.target.checked })}
                disabled={running}
              />
              <span>read-only</span>
            </label>
            <label className="check">
              <input
                type="checkbox"
                data-testid="relabel-shareable"
                checked={form.shareable}
                onChange={(e) => updateForm({ shareable: e.target.checked })}
                disabled={running}
              />
              <span>shareable</span>
            </label>
            <label className="check">
              <input
                type="checkbox"
                data-testid="relabel-hardlinks"
                checked={form.allowHardLinks}
                onChange={(e) => updateForm({ allowHardLinks: e.target.checked })}
                disabled={running}
              />
              <span>files with several hard links too</span>
            </label>
          </>
        )}
      </form>

      <section className="preview" data-testid="preview" data-state={plan.status} aria-live="polite" aria-busy={plan.status === 'pending'}>
        <h3 data-testid={applied ? 'applied-heading' : undefined}>
          {applied ? 'Done' : 'Preview'} {plan.status === 'pending' && <span className="spinner" aria-label="computing" />}
        </h3>
        {plan.status === 'error' && plan.error && (
          <div className="alert error" role="alert" data-testid="plan-error">
            {plan.error}
          </div>
        )}
        {plan.status === 'error' && !plan.error && (
          <p className="muted" data-testid="plan-fields">
            No preview until the marked fields are right.
          </p>
        )}
        {p && p.refusals.length > 0 && (
          <div className="alert error" role="alert" data-testid="refusals">
            <b>Nothing will be changed:</b>
            <ul>
              {p.refusals.map((r) => (
                <li key={`${r.path}:${r.message}`} data-testid="refusal">
                  {refusalText(r, roleOf(r.path))}
                </li>
              ))}
            </ul>
            {outside.length > 0 && (
              <div className="allow" data-testid="outside-folders">
                Files lie in folders that were not opened:
                <ul>
                  {outside.map((f) => (
                    <li key={f} className="mono" data-testid="outside-folder" data-path={f}>
                      {f}
                    </li>
                  ))}
                </ul>
                <button type="button" data-testid="allow-folders" disabled={running} onClick={() => void allowFolders(outside)}>
                  Allow changes in {outside.length === 1 ? 'this folder' : `these ${outside.length} folders`}
                </button>
              </div>
            )}
          </div>
        )}
        {access && plan.access && <AccessFindings report={plan.access} />}
        {access && plan.status === 'ready' && !p && (
          <p className="muted" data-testid="plan-nothing">
            Nothing to fix.
          </p>
        )}
        {p && (
          <table className="plan" data-testid="plan-table">
            <thead>
              <tr>
                <th>file</th>
                <th>role</th>
                <th>before → after</th>
                <th>remembered</th>
              </tr>
            </thead>
            <tbody>
              {p.entries.map((e) => (
                <PlanRow key={e.path} e={e} done={!!applied} />
              ))}
              {refusedFiles.map((r) => (
                <RefusedRow key={`${r.path}:${r.message}`} r={r} role={roleOf(r.path)} />
              ))}
              {p.access && <FolderFixRows folders={p.access.folders} />}
            </tbody>
          </table>
        )}
        {p?.notes?.map((n) => (
          <p key={n} className="note">
            {n}
          </p>
        ))}
        {!applied && panel.action === 'relabel' && p && (
          <SharedBaseWarning entries={p.entries} top={panel.top} usersOf={(f) => graph.byId.get(f)?.disks ?? []} />
        )}
        {nothing && (
          <p className="muted" data-testid="plan-nothing">
            Nothing to change: the files already look like this.
          </p>
        )}
      </section>

      <footer className="panel-foot">
        <button type="button" className="primary" data-testid="apply" disabled={!applicable} onClick={() => void applyCurrent()}>
          {access ? 'Apply fix' : `Apply ${panel.action}`}
        </button>
        {running && <progress data-testid="progress" max={Math.max(apply.total, 1)} value={apply.done} aria-label="applying" />}
        {running && plan.plan && (
          <button type="button" data-testid="cancel-apply" onClick={() => cancelApply(plan.plan!.id)}>
            Cancel
          </button>
        )}
        {running && (
          <span className="muted apply-progress" role="status" data-testid="progress-text">
            {apply.done} / {apply.total} files
            {apply.rate !== undefined && ` · ${Math.round(apply.rate)} files/s`}
            {apply.path && ` · ${apply.path}`}
          </span>
        )}
        {apply.status === 'done' && apply.message && (
          <span className="ok" role="status" data-testid="apply-result">
            {doneText(apply)}
          </span>
        )}
        {apply.status === 'error' && apply.message && (
          <div className="alert error" role="alert" data-testid="apply-error">
            {apply.message}
            {apply.refusals.length > 0 && (
              <ul>
                {apply.refusals.map((r) => (
                  <li key={`${r.path}:${r.message}`}>{refusalText(r, roleOf(r.path))}</li>
                ))}
              </ul>
            )}
          </div>
        )}
        {apply.status === 'done' && apply.refusals.length > 0 && (
          <div className="alert error" role="alert">
            Left alone:
            <ul>
              {apply.refusals.map((r) => (
                <li key={`${r.path}:${r.message}`}>
                  {r.path}: {r.message}
                </li>
              ))}
            </ul>
          </div>
        )}
      </footer>
    </aside>
  );
}
