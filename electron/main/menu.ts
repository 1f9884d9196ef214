// Native menus: File (open image, open folder, recent files), Disk (relabel, restore, undo),
// View (theme, zoom). Actions that belong to the renderer go to it as `command` events.
import { app, dialog, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { Command } from '../../shared/ipc.js';

export const IMAGE_EXTENSIONS = ['qcow2', 'qcow', 'qed', 'img', 'raw', 'vmdk', 'vdi', 'vhd', 'vhdx', 'iso', 'luks'];

export interface MenuActions {
  open(paths: string[]): void;
  command(name: Command): void;
  recent(): string[];
  clearRecent(): void;
}

/** A native open dialog; an empty list when cancelled. */
export async function showOpenDialog(win: BrowserWindow | null, kind: 'image' | 'folder'): Promise<string[]> {
  const opts: Electron.OpenDialogOptions =
    kind === 'image'
      ? {
          title: 'Open disk image',
          properties: ['openFile', 'multiSelections', 'showHiddenFiles'],
          filters: [
            { name: 'Disk images', extensions: IMAGE_EXTENSIONS },
            { name: 'All files', extensions: ['*'] },
          ],
        }
      : { title: 'Open folder of disk images', properties: ['openDirectory', 'showHiddenFiles'] };
  const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
  return r.canceled ? [] : r.filePaths;
}

export function buildMenu(win: BrowserWindow, actions: MenuActions): Menu {
  const recent = actions.recent();
  const openWith = (kind: 'image' | 'folder') => async () => {
    const paths = await showOpenDialog(win, kind);
    if (paths.length) actions.open(paths);
  };
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open &Image…', accelerator: 'CmdOrCtrl+O', click: openWith('image') },
        { label: 'Open &Folder…', accelerator: 'CmdOrCtrl+Shift+O', click: openWith('folder') },
        { label: 'Open &Path…', accelerator: 'CmdOrCtrl+L', click: () => actions.command('focus-open') },
        { label: 'Open &Domain XML…', accelerator: 'CmdOrCtrl+D', click: () => actions.command('open-domain') },
        {
          label: 'Open &Recent',
          submenu: [
            ...recent.map((p): MenuItemConstructorOptions => ({ label: p, click: () => actions.open([p]) })),
            ...(recent.length ? [{ type: 'separator' as const }] : []),
            { label: 'Clear Recent', enabled: recent.length > 0, click: () => actions.clearRecent() },
          ],
        },
        { type: 'separator' },
        { label: '&Reload Disks', accelerator: 'F5', click: () => actions.command('reload') },
        { type: 'separator' },
        { role: process.platform === 'darwin' ? 'close' : 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: '&Disk',
      submenu: [
        { label: '&Relabel…', click: () => actions.command('relabel') },
        { label: 'Re&store…', click: () => actions.command('restore') },
        { type: 'separator' },
        { label: '&Undo Last Change', click: () => actions.command('undo') },
      ],
    },
    {
      label: '&View',
      submenu: [
        { label: 'Light / Dark &Theme', accelerator: 'CmdOrCtrl+Shift+T', click: () => actions.command('toggle-theme') },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      role: 'help',
      submenu: [
        {
          label: 'About diskchain',
          click: () =>
            void dialog.showMessageBox(win, {
              type: 'info',
              title: 'diskchain',
              message: `diskchain ${app.getVersion()}`,
              detail: 'Explore, relabel and restore VM disk image chains the way qemu and libvirt see them.',
            }),
        },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
