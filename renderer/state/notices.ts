// Notices: the short messages in the corner. The bottom of the stores' order: every other store
// may report through it, it reports to none.
import { create } from 'zustand';
import { errorText } from '../../shared/error-text.js';

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

export { errorText };
