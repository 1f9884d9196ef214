// Start-up and the wiring of events: the owning process's events and menu commands into the
// stores, the connection's state, what it says at start (recovery notices, the last change to
// undo), and the paths that were open before. The top of the stores' order: only main.tsx
// imports it.
import type { Command } from '../../shared/ipc.js';
import { getApi } from '../api.js';
import { showDomainDialog } from './domain.js';
import { applyDelta, onScanProgress } from './forest.js';
import { useHost } from './host.js';
import { loadHosts, onHostBatch, onHostDelta, onHostForest, onHostProgress, onHostState } from './hosts.js';
import { errorText, notify } from './notices.js';
import { onHostPrompt, onHostPromptClosed } from './prompts.js';
import { focusOpenPath, openDialog, openPaths, refreshRecent, reloadAll } from './open.js';
import { onApplyProgress, openPanel, undoLast, usePanel } from './panel.js';
import { toggleTheme } from './theme.js';

function runCommand(name: Command): void {
  switch (name) {
    case 'open-image':
      void openDialog('image');
      break;
    case 'open-folder':
      void openDialog('folder');
      break;
    case 'reload':
      void reloadAll();
      break;
    case 'relabel':
    case 'restore':
      openPanel(name);
      break;
    case 'undo':
      void undoLast();
      break;
    case 'toggle-theme':
      toggleTheme();
      break;
    case 'focus-open':
      focusOpenPath();
      break;
    case 'open-domain':
      showDomainDialog(true);
      break;
  }
}

export async function start(): Promise<void> {
  const api = getApi();
  api.on('open-paths', (d) => void openPaths(d.paths));
  api.on('progress', onApplyProgress);
  api.on('command', (d) => runCommand(d.name));
  api.on('scan-progress', onScanProgress);
  api.on('forest-delta', applyDelta);
  api.on('forest-batch', onHostBatch);
  api.on('forest-delta', onHostDelta);
  api.on('scan-progress', onHostProgress);
  api.on('host-state', onHostState);
  api.on('host-forest', onHostForest);
  api.on('host-prompt', onHostPrompt);
  api.on('host-prompt-closed', onHostPromptClosed);
  api.on('notice', (d) => notify('error', d.text));
  const statusApi = api as { onStatus?: (fn: (up: boolean) => void) => void };
  statusApi.onStatus?.((up) => useHost.setState({ connected: up }));
  try {
    const info = await api.invoke('info', {});
    useHost.setState({ info });
    usePanel.setState({ lastJournalId: info.lastJournalId });
    for (const n of info.notices) notify('info', n);
    void refreshRecent();
    void loadHosts();
    if (info.opened.length) await openPaths(info.opened, { reload: true });
  } catch (e) {
    notify('error', errorText(e));
  }
}
