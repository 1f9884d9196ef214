// The journal's changes across sessions (relabels, restores, access fixes and their undos):
// when, what, which disks, and an Undo for each change still in effect, at any depth.
import { useCallback, useState } from 'react';
import type { JournalSummary } from '../../shared/plan.js';
import { getApi } from '../api.js';
import { errorText, notify } from '../state/notices.js';
import { undoJournal, usePanel } from '../state/panel.js';

const KIND_WORDS: Record<JournalSummary['kind'], string> = {
  relabel: 'Relabel',
  restore: 'Restore',
  'access-fix': 'Access fix',
  undo: 'Undo',
};

/** A change that can still be reverted: it went through and nothing undid it since. */
function inEffect(e: JournalSummary): boolean {
  return e.status === 'committed' && e.kind !== 'undo' && !e.undoneBy;
}

export function HistoryPanel() {
  const [entries, setEntries] = useState<JournalSummary[] | null>(null);
  const running = usePanel((s) => s.apply.status === 'running');

  const load = useCallback(async () => {
    try {
      setEntries((await getApi().invoke('history', {})).entries);
    } catch (e) {
      notify('error', `the history could not be read: ${errorText(e)}`);
    }
  }, []);

  const undo = async (id: string) => {
    await undoJournal(id);
    await load();
  };

  return (
    <details className="history" data-testid="history" onToggle={(e) => (e.currentTarget.open ? void load() : undefined)}>
      <summary>History</summary>
      {entries && entries.length === 0 && <p className="muted">No changes yet.</p>}
      {entries && entries.length > 0 && (
        <ol data-testid="history-list">
          {[...entries].reverse().map((e) => (
            <li key={e.id} data-testid="history-entry" data-id={e.id} data-kind={e.kind} data-status={e.status}>
              <time dateTime={new Date(e.startedMs).toISOString()}>{new Date(e.startedMs).toLocaleString()}</time>{' '}
              <b>{KIND_WORDS[e.kind]}</b> of {e.files} file{e.files === 1 ? '' : 's'} ({e.status}
              {e.undoneBy ? ', undone' : ''})
              <ul>
                {e.tops.map((t) => (
                  <li key={t} className="mono breakable" data-testid="history-top">
                    {t}
                  </li>
                ))}
              </ul>
              {e.paths && e.paths.length > 0 && (
                <details data-testid="history-files">
                  <summary>
                    {/* summarize() lists at most 50: say so rather than look complete */}
                    {e.paths.length >= 50 && e.files > 50 ? `the first ${e.paths.length} files` : 'files'}
                  </summary>
                  <ul>
                    {e.paths.map((p) => (
                      <li key={p} className="mono breakable">
                        {p}
                      </li>
                    ))}
                  </ul>
                </details>
              )}
              {inEffect(e) && (
                <button type="button" data-testid="history-undo" disabled={running} onClick={() => void undo(e.id)}>
                  Undo
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
    </details>
  );
}
