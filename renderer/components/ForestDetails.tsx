// The file selected in the forest: what it is, who owns it, what it names, who uses it.
import { humanSize, modeString, ownerString } from '../../shared/text.js';
import { isTop } from '../forest/model.js';
import { selectForest, useForest } from '../state/forest.js';
import { openChain } from '../state/open.js';
import { openPanel } from '../state/panel.js';
import { fileName } from './ChainNodeCard.js';
import { CopyPath } from './CopyPath.js';

const MAX_LISTED = 50;

export function ForestDetails() {
  const selected = useForest((s) => s.selected);
  const files = useForest((s) => s.files);
  const node = useForest((s) => (s.selected ? (s.forest.byId.get(s.selected) ?? null) : null));
  const users = useForest((s) => s.users);
  const f = selected ? files.get(selected) : undefined;
  if (!f) {
    return (
      <aside className="details" data-testid="forest-details" aria-label="details">
        <p className="placeholder muted">
          Select a file to see it here; selecting a base lights up every image that uses it. Double-click an image for its chain graph.
        </p>
      </aside>
    );
  }
  const link = (p: string) => (
    <>
      <button type="button" className="link mono" title={p} onClick={() => selectForest(p)}>
        {fileName(p)}
      </button>
      <CopyPath path={p} />
    </>
  );
  // "Used by" counts the disks (tops) whose chains go through this file; middle layers are
  // part of those chains, not users of their own.
  const userList = [...users].filter((u) => {
    const uf = files.get(u);
    return !!uf && isTop(uf);
  });
  userList.sort();
  const layers = users.size - userList.length;
  return (
    <aside className="details" data-testid="forest-details" aria-label="details">
      <h2 className="details-title" title={f.path}>
        {fileName(f.path)}
      </h2>
      <table className="kv">
        <tbody>
          <tr>
            <th scope="row">real path</th>
            <td className="mono wrap">
              <span data-testid="forest-details-path">{f.path}</span> <CopyPath path={f.path} />
            </td>
          </tr>
          <tr>
            <th scope="row">format</th>
            <td>
              {f.format ?? 'not read'}
              {f.external ? ' (outside the scanned folders)' : ''}
            </td>
          </tr>
          <tr>
            <th scope="row">virtual size</th>
            <td>{f.virtualSize !== null ? humanSize(f.virtualSize) : '—'}</td>
          </tr>
          <tr>
            <th scope="row">allocated</th>
            <td>
              {f.allocated !== null ? humanSize(f.allocated) : '—'}
              {node?.top ? ` (chain: ${humanSize(node.chainAllocated)})` : ''}
            </td>
          </tr>
          <tr>
            <th scope="row">owner</th>
            <td>{f.owner ? ownerString(f.owner) : '—'}</td>
          </tr>
          <tr>
            <th scope="row">mode</th>
            <td className="mono">{f.owner ? modeString(f.owner.mode) : '—'}</td>
          </tr>
          <tr>
            <th scope="row">SELinux</th>
            <td className="mono wrap">{f.selinux ?? 'no label'}</td>
          </tr>
          <tr>
            <th scope="row">backing file</th>
            <td>
              {f.backing ? files.has(f.backing) ? link(f.backing) : <span className="warn mono">{f.backing} (missing)</span> : 'none'}
            </td>
          </tr>
          <tr>
            <th scope="row">data file</th>
            <td>{f.dataFile ? files.has(f.dataFile) ? link(f.dataFile) : <span className="warn mono">{f.dataFile}</span> : 'none'}</td>
          </tr>
        </tbody>
      </table>
      <h3 data-testid="forest-used-by" data-tops={userList.length}>
        Used by {userList.length} top{userList.length === 1 ? '' : 's'}
        {layers > 0 && (
          <span className="muted">
            {' '}
            (through {layers} middle layer{layers === 1 ? '' : 's'})
          </span>
        )}
      </h3>
      <ul className="user-list" data-testid="forest-users">
        {userList.slice(0, MAX_LISTED).map((u) => (
          <li key={u}>{link(u)}</li>
        ))}
        {userList.length > MAX_LISTED && <li className="muted">…and {userList.length - MAX_LISTED} more</li>}
      </ul>
      {f.problems.length > 0 && (
        <>
          <h3>Problems</h3>
          <ul className="problem-list">
            {f.problems.map((p, i) => (
              <li key={i}>
                <b>{p.code}</b>: {p.message}
              </li>
            ))}
          </ul>
        </>
      )}
      <div className="details-actions">
        {f.isImage && (
          <button type="button" data-testid="open-chain" onClick={() => void openChain(f.path)}>
            Chain graph
          </button>
        )}
        <button type="button" onClick={() => openPanel('relabel')}>
          Relabel…
        </button>
        <button type="button" onClick={() => openPanel('restore')}>
          Restore…
        </button>
      </div>
    </aside>
  );
}
