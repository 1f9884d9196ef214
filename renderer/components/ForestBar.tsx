// Above the forest: search and filter (name, owner, context, problem), what is shown, the scan's
// summary, and the watcher's work (how many headers were read, and which files last).
import { closeForest, setFilter, useForest } from '../state/forest.js';

/** The free-text filter boxes, in order. */
const TEXT_FILTERS = [
  { key: 'name', testid: 'filter-name', placeholder: 'name or path', label: 'filter by name' },
  { key: 'owner', testid: 'filter-owner', placeholder: 'owner (qemu, 107…)', label: 'filter by owner' },
  { key: 'context', testid: 'filter-context', placeholder: 'SELinux context', label: 'filter by SELinux context' },
] as const;

export function ForestBar() {
  const filter = useForest((s) => s.filter);
  const codes = useForest((s) => s.codes);
  const shown = useForest((s) => s.shown.length);
  const trees = useForest((s) => s.forest.trees.length);
  const matches = useForest((s) => s.matches.size);
  const summary = useForest((s) => s.summary);
  const roots = useForest((s) => s.roots);
  const reads = useForest((s) => s.reads);
  const reread = useForest((s) => s.lastReread);
  const updates = useForest((s) => s.updates);
  const scanMs = useForest((s) => s.scanMs);
  const shownFiles = useForest((s) => s.shownFiles);

  return (
    <div className="forest-bar" role="search" aria-label="filter the forest">
      <div className="forest-filters">
        {TEXT_FILTERS.map(({ key, testid, placeholder, label }) => (
          <input
            key={key}
            data-testid={testid}
            placeholder={placeholder}
            value={filter[key]}
            onChange={(e) => setFilter({ [key]: e.target.value })}
            aria-label={label}
            spellCheck={false}
          />
        ))}
        <select
          data-testid="filter-problem"
          value={filter.problem}
          onChange={(e) => setFilter({ problem: e.target.value })}
          aria-label="filter by problem"
        >
          <option value="">any file</option>
          <option value="any">with a problem</option>
          <option value="broken">in a broken chain</option>
          <option value="orphan">standalone files</option>
          {codes.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <button
          type="button"
          className="icon small"
          title="Forget this forest and stop watching its folders"
          aria-label="close the forest"
          onClick={() => void closeForest()}
        >
          ✕
        </button>
      </div>
      <div className="forest-counts muted">
        <span data-testid="forest-count" data-trees={shown} data-files={shownFiles} data-matches={matches}>
          {shown === trees
            ? `${trees} trees, ${shownFiles} files`
            : `${shown} of ${trees} trees, ${matches} matching file${matches === 1 ? '' : 's'}`}
        </span>
        {summary && (
          <span
            data-testid="forest-summary"
            data-tops={summary.tops}
            data-shared={summary.sharedBases}
            data-data={summary.dataFiles}
            data-orphans={summary.orphans}
            data-broken={summary.broken}
          >
            {' · '}
            {summary.tops} tops · {summary.sharedBases} shared bases · {summary.dataFiles} data files · {summary.orphans} standalone ·{' '}
            <span className={summary.broken ? 'warn' : ''}>{summary.broken} broken</span>
          </span>
        )}
        <span className="spacer" />
        <span
          data-testid="forest-status"
          data-reads={reads}
          data-updates={updates}
          data-scan-ms={Math.round(scanMs)}
          data-reread={reread.join('\n')}
          title={roots.join('\n')}
        >
          watching {roots.length} folder{roots.length === 1 ? '' : 's'} · {reads} header reads
          {updates ? ` · last change re-read ${reread.length} file${reread.length === 1 ? '' : 's'}` : ''}
        </span>
      </div>
    </div>
  );
}
