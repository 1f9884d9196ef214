// What stops the VM's user from opening each file of the chain (check-access), and the previewed
// fix: folder ACL entries and the files' owners, exactly as Apply will change them.
import type { AccessReport, Blocker } from '../../shared/access.js';
import type { FolderAclEntry } from '../../shared/plan.js';
import { Breakable, fileName } from './ChainNodeCard.js';
import './domain.css';

function BlockerItem({ b }: { b: Blocker }) {
  return (
    <li
      className={b.blocking ? 'blocking' : 'nonblocking'}
      data-testid="blocker"
      data-kind={b.kind}
      data-path={b.path}
      data-blocking={b.blocking ? 'true' : 'false'}
    >
      <b>{b.kind}</b>{' '}
      {b.message.includes(b.path) ? (
        b.message
      ) : (
        <>
          <span className="mono breakable">
            <Breakable text={b.path} />
          </span>
          : {b.message}
        </>
      )}
      {!b.blocking && <span className="muted"> (does not stop the VM on this host)</span>}
    </li>
  );
}

export function AccessFindings({ report }: { report: AccessReport }) {
  const blocking = report.blockers.filter((b) => b.blocking);
  const s = report.subject;
  return (
    <section className="access" data-testid="access-report" data-ok={report.ok ? 'true' : 'false'} data-uid={s.uid}>
      <p>
        As{' '}
        <span className="mono">
          {s.userName ?? s.user} ({s.uid})
        </span>
        , group{' '}
        <span className="mono">
          {s.groupName ?? s.group} ({s.gid})
        </span>
        {s.groups.length > 1 && (
          <>
            , groups <span className="mono">{s.groups.join(',')}</span>
          </>
        )}
        :{' '}
        {report.ok ? (
          <span className="ok" data-testid="access-ok">
            the VM can open every file of this chain as it needs.
          </span>
        ) : (
          <b className="warn">{blocking.length === 1 ? '1 thing stops the VM.' : `${blocking.length} things stop the VM.`}</b>
        )}
      </p>
      {report.blockers.length > 0 && (
        <ul className="blockers">
          {report.blockers.map((b, i) => (
            <BlockerItem key={`${b.kind}:${b.path}:${i}`} b={b} />
          ))}
        </ul>
      )}
      <p className="muted small">
        {report.selinux.message} {report.apparmor.message}
      </p>
      {report.notes.map((n) => (
        <p key={n} className="note">
          {n}
        </p>
      ))}
    </section>
  );
}

export function FolderFixRows({ folders }: { folders: FolderAclEntry[] }) {
  return (
    <>
      {folders.map((f) => (
        <tr
          key={f.path}
          data-testid="plan-row"
          data-path={f.path}
          data-role="folder"
          data-changes={f.changes.length ? 'true' : 'false'}
          className={f.changes.length ? 'changes' : 'same'}
        >
          <td className="mono wrap" title={f.path}>
            {fileName(f.path) || '/'}/
          </td>
          <td>folder</td>
          <td>
            <ul className="change-list">
              {f.changes.map((c) => (
                <li key={c} className="mono breakable">
                  <Breakable text={c} />
                </li>
              ))}
            </ul>
          </td>
          <td>no</td>
        </tr>
      ))}
    </>
  );
}
