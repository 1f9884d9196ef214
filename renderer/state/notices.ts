// Notices: the short messages in the corner. The bottom of the stores' order: every other store
// may report through it, it reports to none.
import { create } from 'zustand';
import { errorText } from '../../shared/error-text.js';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

/** An info notice leaves by itself after this long; an error stays until dismissed. */
export const INFO_MS = 6000;
/** At most this many are shown; older ones collapse into "+N more". */
export const SHOWN_NOTICES = 3;
/** Older ones than this many are forgotten (a burst of failures must not grow without bound). */
const KEPT_NOTICES = 50;

export const useNotices = create<{ notices: Notice[] }>()(() => ({ notices: [] }));

const set = useNotices.setState;

let noticeId = 1;
export function notify(kind: Notice['kind'], text: string): void {
  const id = noticeId++;
  set((s) => ({ notices: [...s.notices.slice(-(KEPT_NOTICES - 1)), { id, kind, text }] }));
  if (kind === 'info') setTimeout(() => dismiss(id), INFO_MS);
}

export function dismiss(id: number): void {
  set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

/** Dismiss every notice but the newest `keep`. */
export function dismissOlder(keep: number): void {
  set((s) => ({ notices: s.notices.slice(-keep) }));
}

export { errorText };
