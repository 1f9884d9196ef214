// The window: toolbar, open disks, the graph, and the details or relabel panel. Handles the
// keyboard (arrows walk the graph, `?` lists the keys), focus moving into a panel as it opens,
// and files dropped on the window.
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import { useEffect, useRef, type DragEvent } from 'react';
import { getApi } from '../api.js';
import { neighbour } from '../graph/model.js';
import { nearestCard } from '../forest/layout.js';
import { select, useDisks } from '../state/disks.js';
import { useDomain } from '../state/domain.js';
import { selectForest, useForest } from '../state/forest.js';
import { useHost } from '../state/host.js';
import { notify } from '../state/notices.js';
import { focusOpenPath, openDialog, openPaths, reloadAll, useOpen } from '../state/open.js';
import { closePanel, openPanel, usePanel } from '../state/panel.js';
import { useTheme } from '../state/theme.js';
import { DetailsPanel } from './DetailsPanel.js';
import { DomainDialog } from './DomainDialog.js';
import { DomainPanel } from './DomainPanel.js';
import { ForestDetails } from './ForestDetails.js';
import { focusFirstField } from './focus.js';
import { ForestView } from './ForestView.js';
import { GraphView } from './GraphView.js';
import { Notices } from './Notices.js';
import { RelabelPanel } from './RelabelPanel.js';
import { ForestVerdictBanner, VerdictBanner } from './VerdictBanner.js';
import { HistoryPanel } from './HistoryPanel.js';
import { ScanProgress } from './ScanProgress.js';
import { Shortcuts, showShortcuts } from './Shortcuts.js';
import { Sidebar } from './Sidebar.js';
import { Toolbar } from './Toolbar.js';
import { AddHostDialog } from '../hosts/AddHostDialog.js';
import { PromptDialog } from '../hosts/PromptDialog.js';
import { HostsBar } from '../hosts/HostsBar.js';
import { SameFileHint } from '../hosts/SameFileHint.js';
import './a11y.css';

function isTyping(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA' || el.isContentEditable);
}

/** Paths from a drop: real paths under Electron, file:// URIs from a file manager elsewhere. */
function droppedPaths(e: DragEvent): string[] {
  const api = getApi();
  const out: string[] = [];
  for (const f of Array.from(e.dataTransfer.files)) {
    const p = api.pathForFile(f);
    if (p) out.push(p);
  }
  if (out.length) return out;
  const uris = e.dataTransfer.getData('text/uri-list') || e.dataTransfer.getData('text/plain');
  for (const line of uris.split(/\r?\n/)) {
    const s = line.trim();
    if (s.startsWith('file://')) {
      try {
        const u = new URL(s);
        if (!u.host || u.host === 'localhost') out.push(decodeURIComponent(u.pathname));
      } catch {
        // Not a URI.
      }
    } else if (s.startsWith('/')) {
      out.push(s);
    }
  }
  return out;
}

/** Move keyboard focus to a card once the frame that draws it has run. */
function focusCardSoon(id: string): void {
  requestAnimationFrame(() =>
    document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`)?.focus({ preventScroll: true }),
  );
}

/** The card that has the keyboard focus, if any. */
function focusedCard(): string | null {
  return (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.react-flow__node')?.dataset.id ?? null;
}

/** The skip link's target: the canvas's one card tab stop, else the canvas itself. */
function focusCanvas(): void {
  const main = document.querySelector<HTMLElement>('main.canvas');
  (main?.querySelector<HTMLElement>('.react-flow__node[tabindex="0"]') ?? main)?.focus();
}

function Keyboard() {
  const flow = useReactFlow();
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // An open modal dialog has the keyboard to itself.
      if (document.querySelector('[aria-modal="true"]')) return;
      const mod = e.ctrlKey || e.metaKey;
      // Under Electron the native menu owns these accelerators (and sends a command).
      const menuOwns = useHost.getState().info?.mode === 'electron';
      if (menuOwns && (e.key === 'F5' || (mod && /^[lLoO]$/.test(e.key)))) return;
      if (mod && !e.altKey && (e.key === 'l' || e.key === 'L')) {
        e.preventDefault();
        focusOpenPath();
        return;
      }
      if (mod && (e.key === 'o' || e.key === 'O')) {
        e.preventDefault();
        if (useHost.getState().info?.dialogs) void openDialog(e.shiftKey ? 'folder' : 'image');
        else focusOpenPath();
        return;
      }
      if (e.key === 'F5') {
        e.preventDefault();
        void reloadAll();
        return;
      }
      if (e.key === 'Escape') {
        if (usePanel.getState().panel) closePanel();
        else if (!isTyping(e.target)) {
          select(null);
          selectForest(null);
        }
        return;
      }
      if (isTyping(e.target) || mod || e.altKey) return;
      if (e.key === '?') {
        e.preventDefault();
        showShortcuts(true);
        return;
      }
      const s = useDisks.getState();
      const f = useForest.getState();
      if (
        f.view === 'forest' &&
        f.id !== null &&
        (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'ArrowUp' || e.key === 'ArrowDown')
      ) {
        // Only what is drawn: the boxes of the trees the filter shows.
        const next = nearestCard(f.boxes, (id) => f.files.has(id), f.selected ?? focusedCard(), e.key);
        if (!next) return;
        e.preventDefault();
        selectForest(next);
        const box = f.boxes.get(next)!;
        // Pan only when the card is not on screen already: the view stays where the user put it.
        const pane = document.querySelector<HTMLElement>('.react-flow');
        const { x, y, zoom } = flow.getViewport();
        const onScreen =
          !!pane &&
          box.x * zoom + x >= 0 &&
          box.y * zoom + y >= 0 &&
          (box.x + box.width) * zoom + x <= pane.clientWidth &&
          (box.y + box.height) * zoom + y <= pane.clientHeight;
        if (!onScreen) void flow.setCenter(box.x + box.width / 2, box.y + box.height / 2, { zoom: Math.max(zoom, 0.6), duration: 120 });
        focusCardSoon(next);
        return;
      }
      if (e.key === '/') {
        e.preventDefault();
        focusOpenPath();
      } else if (e.key === 'r' && s.disks.length) {
        openPanel('relabel');
      } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'ArrowUp' || e.key === 'ArrowDown') {
        const next = neighbour(s.graph, s.boxes, s.selected ?? focusedCard(), e.key);
        if (!next) return;
        e.preventDefault();
        select(next);
        const box = s.boxes.get(next);
        if (box) void flow.setCenter(box.x + box.width / 2, box.y + box.height / 2, { zoom: Math.max(flow.getZoom(), 0.6), duration: 150 });
        focusCardSoon(next);
      } else if (e.key === 'Enter' || e.key === ' ') {
        const id = focusedCard();
        if (id && f.view === 'forest' && f.id !== null) {
          if (f.files.has(id)) selectForest(id);
        } else if (id) select(id);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [flow]);
  return null;
}

function Main() {
  const theme = useTheme((s) => s.theme);
  const panel = usePanel((s) => s.panel);
  const forest = useForest((s) => s.view === 'forest' && s.id !== null);
  const domainView = useDomain((s) => s.visible && s.domain !== null);
  const empty = useDisks((s) => s.disks.length === 0) && !forest && !domainView;
  const loading = useOpen((s) => s.loading.length > 0);
  const dialogs = useHost((s) => !!s.info?.dialogs);
  const panelKey = usePanel((s) => (s.panel ? `${s.panel.action} ${s.panel.top}` : null));
  const panelOpener = useRef<HTMLElement | null>(null);

  // A panel that opens takes the focus (its first field); when it closes, the focus goes back
  // to where it was, unless the user has moved it elsewhere meanwhile.
  useEffect(() => {
    if (!panelKey) {
      const back = panelOpener.current;
      panelOpener.current = null;
      if (back?.isConnected && (document.activeElement === document.body || !document.activeElement)) back.focus();
      return;
    }
    const root = document.querySelector<HTMLElement>('[data-testid="relabel-panel"]');
    if (!root || root.contains(document.activeElement)) return;
    panelOpener.current ??= document.activeElement as HTMLElement | null;
    focusFirstField(root);
  }, [panelKey]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const onDragOver = (e: DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const paths = droppedPaths(e);
    if (paths.length) void openPaths(paths);
    else if (e.dataTransfer.files.length) notify('error', 'a browser does not say where a dropped file lives; type its path instead');
  };

  return (
    <div className="app" onDragOver={onDragOver} onDrop={onDrop}>
      <a
        href="#graph"
        className="skip-link"
        data-testid="skip-link"
        onClick={(e) => {
          e.preventDefault();
          focusCanvas();
        }}
      >
        Skip to the graph
      </a>
      <Keyboard />
      <Toolbar />
      <HostsBar />
      <div className={`body${panel ? ' with-relabel' : ''}`}>
        <Sidebar />
        <main id="graph" className="canvas" tabIndex={-1} aria-label="graph of the open disks" aria-busy={loading}>
          {!domainView && (forest ? <ForestVerdictBanner /> : <VerdictBanner />)}
          {domainView ? <DomainPanel /> : forest ? <ForestView /> : <GraphView />}
          <ScanProgress />
          {forest && <SameFileHint />}
          <Notices />
          {empty && (
            <div className="empty">
              {loading ? (
                <p>
                  <span className="spinner" /> Reading…
                </p>
              ) : (
                <>
                  <h2>Open a disk</h2>
                  <p>Type the path of an image or folder above{dialogs ? ', use File ▸ Open,' : ''} or drop an image on this window.</p>
                  <p className="muted">Arrow keys walk the graph; Esc closes a panel; Ctrl+L types a path; ? lists every key.</p>
                </>
              )}
            </div>
          )}
        </main>
        {panel ? <RelabelPanel /> : forest ? <ForestDetails /> : <DetailsPanel />}
      </div>
      <HistoryPanel />
      <DomainDialog />
      <AddHostDialog />
      <PromptDialog />
      <Shortcuts />
    </div>
  );
}

export function App() {
  return (
    <ReactFlowProvider>
      <Main />
    </ReactFlowProvider>
  );
}
