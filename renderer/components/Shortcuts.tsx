// The `?` help: every keyboard shortcut of the window, in a modal list that Escape closes.
import { create } from 'zustand';
import { Modal } from './Modal.js';

const useShortcuts = create<{ open: boolean }>()(() => ({ open: false }));

export function showShortcuts(open: boolean): void {
  useShortcuts.setState({ open });
}

const KEYS: [string, string][] = [
  ['Tab', 'the skip link, the toolbar, the disks, then one card of the graph or forest'],
  ['← → ↑ ↓', 'walk the cards of the graph or forest'],
  ['Enter', 'select the focused card'],
  ['Ctrl+L or /', 'type the path of an image or folder'],
  ['Ctrl+O', 'open an image (Ctrl+Shift+O: a folder) where native dialogs exist'],
  ['F5', 'read every open disk again'],
  ['r', 'Relabel… the selected chain'],
  ['Esc', 'close the panel or dialog, else drop the selection'],
  ['?', 'this list'],
];

const close = () => showShortcuts(false);

function ShortcutsBody() {
  return (
    <Modal close={close} titleId="shortcuts-title" testId="shortcuts" className="modal shortcuts">
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <dl className="shortcut-list">
        {KEYS.map(([k, what]) => (
          <div key={k}>
            <dt>
              <kbd>{k}</kbd>
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
      <footer className="panel-foot">
        <button type="button" onClick={close}>
          Close
        </button>
      </footer>
    </Modal>
  );
}

export function Shortcuts() {
  return useShortcuts((s) => s.open) ? <ShortcutsBody /> : null;
}
