// A running scan: files read of files found, and Cancel (the worker stops between two files).
import { cancelScan, useForest } from '../state/forest.js';

export function ScanProgress() {
  const scanning = useForest((s) => s.scanning);
  if (!scanning) return null;
  return (
    <div className="scan-progress" data-testid="scan-progress" role="status" aria-live="polite">
      <span>Scanning {scanning.paths.join(', ')}…</span>
      <progress max={Math.max(scanning.total, 1)} value={scanning.done} aria-label="files read" />
      <span className="muted" data-testid="scan-count">
        {scanning.total ? `${scanning.done} of ${scanning.total} files` : 'listing files'}
      </span>
      <button type="button" data-testid="scan-cancel" disabled={!scanning.id} onClick={() => void cancelScan()}>
        Cancel
      </button>
    </div>
  );
}
