// What the owning process said about itself at start-up, and whether it can be reached now.
// Set by boot; read by the panel (default owner, SELinux) and the components.
import { create } from 'zustand';
import type { HostInfo } from '../../shared/ipc.js';

export interface HostState {
  info: HostInfo | null;
  connected: boolean;
}

export const useHost = create<HostState>()(() => ({ info: null, connected: true }));
