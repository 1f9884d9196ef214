// The top bar: open a typed path (or through native dialogs), the change actions, theme.
import { useState } from 'react';
import { useDisks } from '../state/disks.js';
import { showDomain, showDomainDialog, useDomain } from '../state/domain.js';
import { setView, useForest } from '../state/forest.js';
import { useHost } from '../state/host.js';
import { openDialog, openPaths, reloadAll, useOpen } from '../state/open.js';
import { openPanel, undoLast, usePanel } from '../state/panel.js';
import { toggleTheme, useTheme } from '../state/theme.js';
import { ExplainButton } from './ExplainDialog.js';
import { showAddHost } from '../state/hosts.js';

export function Toolbar() {
  const [text, setText] = useState('');
  const info = useHost((s) => s.info);
  const view = useForest((s) => s.view);
  const hasForest = useForest((s) => s.id !== null);
  const hasDisks = useDisks((s) => s.disks.length > 0) || (view === 'forest' && hasForest);
  const lastJournalId = usePanel((s) => s.lastJournalId);
  const panel = usePanel((s) => s.panel);
  const busy = usePanel((s) => s.apply.status === 'running');
  const theme = useTheme((s) => s.theme);
  const loading = useOpen((s) => s.loading.length > 0);
  const domainName = useDomain((s) => (s.domain ? (s.domain.name ?? 'domain') : null));
  const domainShown = useDomain((s) => s.visible);

  const go = () => {
    const p = text.trim();
    if (!p) return;
    void openPaths([p]).then(() => setText(''));
  };

  return (
    <header className="toolbar">
      <h1 className="brand">
        <span className="logo" aria-hidden="true" />
        diskchain
      </h1>
      <form
        className="open-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go();
        }}
      >
        <input
          data-testid="open-path"
          type="text"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="/var/lib/libvirt/images/vm.qcow2 or a folder"
          aria-label="path of an image or folder to open"
          spellCheck={false}
          autoComplete="off"
          title="Type the path of an image or a folder (Ctrl+L)"
        />
        <button type="submit" data-testid="open-path-go" disabled={!text.trim()}>
          Open
        </button>
      </form>
      {info?.dialogs && (
        <>
          <button type="button" onClick={() => void openDialog('image')} title="Open image… (Ctrl+O)">
            Image…
          </button>
          <button type="button" onClick={() => void openDialog('folder')} title="Open folder… (Ctrl+Shift+O)">
            Folder…
          </button>
        </>
      )}
      {hasForest && (
        <div className="segmented" role="tablist" aria-label="view">
          <button
            type="button"
            role="tab"
            data-testid="view-forest"
            aria-selected={view === 'forest'}
            onClick={() => {
              showDomain(false);
              setView('forest');
            }}
            title="Every chain of the scanned folders"
          >
            Forest
          </button>
          <button
            type="button"
            role="tab"
            data-testid="view-chain"
            aria-selected={view === 'chain'}
            onClick={() => {
              showDomain(false);
              setView('chain');
            }}
            title="The chain graph of the opened images"
          >
            Chains
          </button>
        </div>
      )}
      <button
        type="button"
        data-testid="open-domain"
        onClick={() => showDomainDialog(true)}
        title="Open a libvirt domain XML (a file, pasted virsh dumpxml, or a domain name)"
      >
        Domain…
      </button>
      <ExplainButton />
      <button type="button" data-testid="add-host" onClick={() => showAddHost(true)} title="Connect to a hypervisor over ssh">
        Add host…
      </button>
      {domainName && (
        <button
          type="button"
          data-testid="view-domain"
          aria-pressed={domainShown}
          onClick={() => showDomain(!domainShown)}
          title="The domain's disks: XML chain beside header chain, and its profile"
        >
          {domainName}
        </button>
      )}
      <span className="spacer" />
      {loading && <span className="spinner" role="status" aria-label="reading images" />}
      <button type="button" onClick={() => void reloadAll()} disabled={!hasDisks} title="Read every open disk again (F5)">
        Reload
      </button>
      <button
        type="button"
        data-testid="relabel"
        disabled={!hasDisks || busy}
        aria-pressed={panel?.action === 'relabel'}
        onClick={() => openPanel('relabel')}
      >
        Relabel…
      </button>
      <button
        type="button"
        data-testid="restore"
        disabled={!hasDisks || busy}
        aria-pressed={panel?.action === 'restore'}
        onClick={() => openPanel('restore')}
      >
        Restore…
      </button>
      <button
        type="button"
        data-testid="undo"
        disabled={!lastJournalId || busy}
        onClick={() => void undoLast()}
        title="Undo the last change"
      >
        Undo
      </button>
      <button
        type="button"
        data-testid="theme"
        className="icon"
        onClick={toggleTheme}
        aria-label={`switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
        title="Light / dark theme"
      >
        {theme === 'dark' ? '☀' : '☾'}
      </button>
    </header>
  );
}
