// The open disks, what is loading, and recent paths (the only "recent" menu a browser gets).
import { selectDisk, useDisks } from '../state/disks.js';
import { openPaths, useOpen } from '../state/open.js';
import { closeDisk } from '../state/panel.js';
import { middleEllipsis } from '../text/ellipsis.js';
import { fileName } from './ChainNodeCard.js';

/** What fits on two lines of the sidebar, in characters: the tail (date, number) always shows. */
const SIDEBAR_NAME_CHARS = 34;
const short = (p: string) => middleEllipsis(fileName(p), SIDEBAR_NAME_CHARS);

export function Sidebar() {
  const disks = useDisks((s) => s.disks);
  const loading = useOpen((s) => s.loading);
  const recent = useOpen((s) => s.recent);
  const selected = useDisks((s) => s.selected);
  const graph = useDisks((s) => s.graph);
  const openTops = new Set(disks.map((d) => d.top));

  return (
    <nav className="sidebar" aria-label="open disks">
      <h3 aria-level={2}>Disks</h3>
      {disks.length === 0 && loading.length === 0 && <p className="muted">None open.</p>}
      <ul className="disk-list">
        {disks.map((d) => {
          const n = graph.byId.get(d.top);
          const problems = n ? [...graph.nodes].filter((g) => g.disks.includes(d.top)).reduce((k, g) => k + g.problems.length, 0) : 0;
          const active = selected !== null && (graph.byId.get(selected)?.disks.includes(d.top) ?? false);
          return (
            <li key={d.top} className={active ? 'active' : ''} data-testid="disk-item" data-path={d.top}>
              <button type="button" className="disk-open" title={d.top} onClick={() => selectDisk(d.top)}>
                <span className="disk-name" title={d.top}>
                  {short(d.top)}
                </span>
                {problems > 0 && (
                  <span className="count warn" title={`${problems} problem${problems === 1 ? '' : 's'}`}>
                    {problems}
                  </span>
                )}
              </button>
              <button type="button" className="icon small" aria-label={`close ${d.top}`} title="Close" onClick={() => closeDisk(d.top)}>
                ✕
              </button>
            </li>
          );
        })}
        {loading.map((p, i) => (
          <li key={`${p}#${i}`} className="loading" aria-busy="true">
            <span className="spinner" />{' '}
            <span className="disk-name" title={p}>
              {short(p)}
            </span>
          </li>
        ))}
      </ul>
      {recent.some((r) => !openTops.has(r)) && (
        <>
          <h3 aria-level={2}>Recent</h3>
          <ul className="recent-list">
            {recent
              .filter((r) => !openTops.has(r))
              .map((r) => (
                <li key={r}>
                  <button type="button" className="link" title={r} data-testid="recent-item" onClick={() => void openPaths([r])}>
                    {short(r)}
                  </button>
                </li>
              ))}
          </ul>
        </>
      )}
    </nav>
  );
}
