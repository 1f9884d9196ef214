// A progress line for long runs (relabel, restore) on a terminal: files done of total, the rate
// and the current file, redrawn in place on stderr. Nothing at all when stderr is not a TTY, so
// pipes and logs stay as they were.
import type { ApplyProgress } from '../change/contract.js';
import { escapeText } from '../../../shared/escape.js';

export interface ProgressLine {
  update(p: ApplyProgress): void;
  /** Clear the line (before the result is printed). */
  done(): void;
}

const NONE: ProgressLine = { update: () => {}, done: () => {} };

/** The text of one progress line, cut to `width` columns (the path loses its start first). */
export function progressText(p: ApplyProgress, width: number): string {
  const pct = p.total ? Math.floor((p.done / p.total) * 100) : 100;
  const head = `${p.done}/${p.total} files (${pct}%) ${Math.round(p.rate)} files/s `;
  const room = Math.max(width - head.length - 1, 0);
  const file = escapeText(p.path);
  return head + (file.length <= room ? file : room > 1 ? '…' + file.slice(file.length - room + 1) : '');
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (!stream.isTTY) return NONE;
  let shown = false;
  return {
    update(p) {
      shown = true;
      stream.write(`\r\x1b[2K${progressText(p, stream.columns || 80)}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
