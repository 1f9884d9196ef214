// The question a host's ssh or sudo asks the user (a key's passphrase, a password): one at a time,
// as the owning process sends them. The answer goes straight back and is never kept here.
import { create } from 'zustand';
import type { EventData } from '../../shared/ipc.js';
import { getApi } from '../api.js';
import { errorText, notify } from './notices.js';

export type HostPrompt = EventData<'host-prompt'>;

export interface PromptsState {
  prompt: HostPrompt | null;
}

export const usePrompts = create<PromptsState>()(() => ({ prompt: null }));

const set = usePrompts.setState;
const get = usePrompts.getState;

/** The prompt shown now, if any (for components). */
export const selectPrompt = (s: PromptsState): HostPrompt | null => s.prompt;

export function onHostPrompt(p: HostPrompt): void {
  set({ prompt: p });
}

/** Answered, cancelled, timed out, or its host went away: the dialog closes. */
export function onHostPromptClosed(d: EventData<'host-prompt-closed'>): void {
  if (get().prompt?.promptId === d.promptId) set({ prompt: null });
}

/** Send the answer (null: Cancel) for the prompt shown now. */
export async function answerPrompt(answer: string | null): Promise<void> {
  const p = get().prompt;
  if (!p) return;
  set({ prompt: null });
  try {
    const { answered } = await getApi().invoke('hostPromptAnswer', { promptId: p.promptId, answer });
    if (!answered) notify('error', `${p.host}: the question had already been withdrawn; connect again to be asked again`);
  } catch (e) {
    notify('error', errorText(e));
  }
}
