// The notices over the canvas, bottom-left (clear of the details panel and the zoom buttons):
// the newest few, older ones as "+N more"; info leaves by itself, an error stays until dismissed.
import { useHost } from '../state/host.js';
import { SHOWN_NOTICES, dismiss, dismissOlder, useNotices } from '../state/notices.js';

export function Notices() {
  const notices = useNotices((s) => s.notices);
  const connected = useHost((s) => s.connected);
  const shown = notices.slice(-SHOWN_NOTICES);
  const older = notices.length - shown.length;
  return (
    <div className="notices" aria-live="assertive" data-testid="notices">
      {!connected && (
        <div className="notice error" role="alert">
          Lost the connection to diskchain serve; trying again…
        </div>
      )}
      {older > 0 && (
        <div className="notice more" data-testid="notice-more" data-count={older}>
          <span>
            +{older} more (older) notice{older === 1 ? '' : 's'}
          </span>
          <button type="button" className="small" onClick={() => dismissOlder(SHOWN_NOTICES)}>
            Dismiss older
          </button>
        </div>
      )}
      {shown.map((n) => (
        <div
          key={n.id}
          className={`notice ${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'status'}
          data-testid={n.kind === 'error' ? 'error' : 'notice'}
        >
          <span>{n.text}</span>
          <button type="button" className="icon small" aria-label="dismiss" onClick={() => dismiss(n.id)}>
            ✕
          </button>
        </div>
      ))}
    </div>
  );
}
