// The verdict first: whether the VM's user (the profile's default) can open every file of the
// disk in view, above the graph, with each blocker and a way to the fix. Findings that do not
// stop the VM on this host (SELinux off, no AppArmor) are listed apart, collapsed.
import { useEffect } from 'react';
import { diskFor } from '../graph/model.js';
import { blockerReason, checkVerdict, useDisks } from '../state/disks.js';
import { useForest } from '../state/forest.js';
import { useHost } from '../state/host.js';
import { openPanel } from '../state/panel.js';

/** The banner for the top selected in the forest (a base or a data file selected shows none). */
export function ForestVerdictBanner() {
  const top = useForest((s) => (s.selected && s.forest.byId.get(s.selected)?.top ? s.selected : null));
  return <VerdictBanner top={top} />;
}

/** The banner for `top`, or (without one) for the disk in view in the graph. */
export function VerdictBanner({ top: given }: { top?: string | null } = {}) {
  const graph = useDisks((s) => s.graph);
  const disks = useDisks((s) => s.disks);
  const selected = useDisks((s) => s.selected);
  const verdict = useDisks((s) => s.verdict);
  const info = useHost((s) => s.info);
  const top = given !== undefined ? given : diskFor(graph, selected, disks);

  // A new graph (opened, reloaded after a change) or another disk selected: check again.
  useEffect(() => {
    void checkVerdict(top);
  }, [top, graph, info]);

  if (!top || !verdict || verdict.top !== top) return null;
  if (verdict.status === 'error') {
    return (
      <div className="verdict error" data-testid="access-verdict" data-state="error" role="status">
        The access check failed: {verdict.error}
      </div>
    );
  }
  const r = verdict.res?.report;
  if (!r) return null;
  const s = r.subject;
  const who = `${s.userName ?? s.user} (${s.uid}:${s.gid})`;
  const blocking = r.blockers.filter((b) => b.blocking);
  const other = r.blockers.filter((b) => !b.blocking);
  const blockedFiles = r.files.filter((f) => !f.ok || f.blockers.some((b) => b.blocking)).length;
  return (
    <div
      className={`verdict ${r.ok ? 'ok' : 'blocked'}`}
      data-testid="access-verdict"
      data-state={r.ok ? 'ok' : 'blocked'}
      data-top={top}
      role="status"
      aria-busy={verdict.status === 'pending'}
    >
      <p data-testid="verdict-text">
        {r.ok ? `${who} can open every file` : `${who} cannot open ${blockedFiles} of ${r.files.length} files`}
        {!r.ok && (
          <button type="button" data-testid="verdict-fix" onClick={() => openPanel('access', { top })}>
            Fix…
          </button>
        )}
      </p>
      {blocking.length > 0 && (
        <ul className="verdict-blockers">
          {blocking.map((b, i) => (
            <li key={`${b.kind}:${b.path}:${i}`} data-testid="blocker" data-kind={b.kind} data-path={b.path} data-file={b.file}>
              {blockerReason(b)}
            </li>
          ))}
        </ul>
      )}
      {other.length > 0 && (
        <details data-testid="verdict-other">
          <summary>
            {other.length} finding{other.length === 1 ? '' : 's'} that do not stop the VM on this host
          </summary>
          <ul>
            {other.map((b, i) => (
              <li key={`${b.kind}:${b.path}:${i}`} data-kind={b.kind} data-path={b.path}>
                {b.kind}: {blockerReason(b)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
