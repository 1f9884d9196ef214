// Notices: the short messages in the corner. The bottom of the stores' order: every other store
// may report through it, it reports to none.
import { create } from 'zustand';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export const useNotices = create<{ notices: Notice[] }>()(() => ({ notices: [] }));

const set = useNotices.setState;

let noticeId = 1;
export function notify(kind: Notice['kind'], text: string): void {
  const id = noticeId++;
  set((s) => ({ notices: [...s.notices.slice(-4), { id, kind, text }] }));
  if (kind === 'info') setTimeout(() => dismiss(id), 6000);
}

export function dismiss(id: number): void {
  set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

/** A caught value as words for a notice. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
