// The opened libvirt domain: its disks (XML chain beside header chain), the VM profile with the
// source of every value, and how it was opened. Components read it through selectors; opening
// a domain also opens each local disk's chain in the graph, so Relabel can act on it. Above open.
import { create } from 'zustand';
import { diskTop } from '../../shared/domain.js';
import type { DomainRes } from '../../shared/ipc.js';
import { getApi } from '../api.js';
import { errorText, notify } from './notices.js';
import { openPaths } from './open.js';

export type DomainSource = 'file' | 'text' | 'virsh';

export interface DomainState {
  /** The open domain; its id names the profile the owning process keeps for Relabel. */
  domain: DomainRes | null;
  loading: boolean;
  error: string | null;
  /** The domain view is shown in place of the graph. */
  visible: boolean;
  /** The "Open domain" form. */
  dialog: boolean;
  source: DomainSource;
  input: string;
}

export const useDomain = create<DomainState>()(() => ({
  domain: null,
  loading: false,
  error: null,
  visible: false,
  dialog: false,
  source: 'file',
  input: '',
}));

const set = useDomain.setState;
const get = useDomain.getState;

export function showDomainDialog(open: boolean): void {
  set({ dialog: open, error: null });
}

export function setDomainInput(patch: Partial<Pick<DomainState, 'source' | 'input'>>): void {
  set({ ...patch, error: null });
}

/** The local disks' top images, as the XML names them (network and empty drives have none). */
export function localTops(d: DomainRes): string[] {
  return d.disks.map(diskTop).filter((t): t is string => t !== null);
}

export async function openDomain(): Promise<void> {
  const { source, input } = get();
  const value = source === 'text' ? input : input.trim();
  if (!value.trim()) {
    set({
      error:
        source === 'text'
          ? 'paste the output of virsh dumpxml first'
          : source === 'virsh'
            ? 'type a domain name'
            : 'type the path of a domain XML file',
    });
    return;
  }
  set({ loading: true, error: null });
  try {
    const req = source === 'file' ? { file: value } : source === 'text' ? { text: value } : { virsh: value };
    const domain = await getApi().invoke('domain', req);
    set({ domain, loading: false, dialog: false, visible: true });
    const tops = localTops(domain);
    if (tops.length) await openPaths(tops, { quiet: true });
  } catch (e) {
    set({ loading: false, error: errorText(e) });
  }
}

export function closeDomain(): void {
  set({ domain: null, visible: false });
}

export function showDomain(visible: boolean): void {
  set({ visible: visible && get().domain !== null });
}

/** Read the same domain again (after a change on disk). */
export async function reloadDomain(): Promise<void> {
  const d = get().domain;
  if (!d) return;
  try {
    const domain = await getApi().invoke('domain', { reopen: d.id });
    set({ domain });
  } catch (e) {
    notify('error', errorText(e));
  }
}
