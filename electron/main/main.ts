// Electron's main process: one sandboxed, context-isolated window showing the renderer from
// app://diskchain/, native menus and dialogs, and the IPC handlers shared with `diskchain serve`.
// Files are read in the inspection worker (worker thread) and changed by the privileged helper;
// this process only routes checked requests.
import { app, BrowserWindow, ipcMain, Menu, session, shell, type IpcMainInvokeEvent, type WebContents } from 'electron';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHANNELS, type Command, type EventData, type EventName, type Result } from '../../shared/ipc.js';
import { Session } from '../node/session/session.js';
import { FileRecent } from '../node/session/recent.js';
import { findRendererDir } from '../node/serve/web.js';
import { buildMenu, showOpenDialog } from './menu.js';
import { APP_URL, isAppUrl, registerAppScheme, serveRenderer } from './protocol.js';
import { errorText } from '../../shared/error-text.js';

const here = path.dirname(fileURLToPath(import.meta.url));

registerAppScheme();
app.enableSandbox();

let win: BrowserWindow | null = null;
let session_: Session | null = null;
/** Paths asked for before the window was ready. */
const queued: string[] = [];

/** Image paths on a command line: what is not a switch, resolved against where it was typed. */
function pathsFromArgv(argv: string[], cwd: string): string[] {
  // electron [switches] main.js [paths] when run from source; the app binary [paths] when packaged.
  const rest = app.isPackaged ? argv.slice(1) : argv.slice(argv.findIndex((a) => a.endsWith('main.js')) + 1);
  return rest.filter((a) => a && !a.startsWith('-')).map((a) => path.resolve(cwd, a));
}

function emit<E extends EventName>(event: E, data: EventData<E>): void {
  if (win && !win.isDestroyed()) win.webContents.send(event, data);
}

function openInWindow(paths: string[]): void {
  if (!paths.length) return;
  for (const p of paths) app.addRecentDocument(p);
  if (win && !win.webContents.isLoading()) emit('open-paths', { paths });
  else queued.push(...paths);
}

function command(name: Command): void {
  emit('command', { name });
}

/** Only our own window's top frame, showing our own page, may call a handler. */
function trustedSender(e: IpcMainInvokeEvent): boolean {
  const frame = e.senderFrame;
  return !!win && !win.isDestroyed() && e.sender === win.webContents && !!frame && frame === e.sender.mainFrame && isAppUrl(frame.url);
}

function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // Links to documentation may open in the user's browser; nothing opens inside the app.
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

function createWindow(recent: FileRecent): BrowserWindow {
  const w = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 720,
    minHeight: 480,
    title: 'diskchain',
    show: false,
    backgroundColor: '#11151c',
    webPreferences: {
      preload: path.join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  w.once('ready-to-show', () => w.show());
  w.webContents.on('did-finish-load', () => {
    if (queued.length) emit('open-paths', { paths: queued.splice(0) });
  });
  const menu = () =>
    Menu.setApplicationMenu(
      buildMenu(w, {
        open: openInWindow,
        command,
        recent: () => recent.list(),
        clearRecent: () => {
          recent.clear();
          app.clearRecentDocuments();
        },
      }),
    );
  recent.onChange = menu;
  menu();
  void w.loadURL(APP_URL);
  return w;
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', (_e, argv, cwd) => {
    openInWindow(pathsFromArgv(argv, cwd));
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('web-contents-created', (_e, contents) => lockDown(contents));
  app.on('window-all-closed', () => app.quit());

  await app.whenReady();
  const rendererDir = findRendererDir(import.meta.url);
  if (!rendererDir) throw new Error('the renderer is not built (dist/renderer): run npm run build');

  // No permission (camera, notifications, clipboard-read, ...) is ever granted to the page.
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  serveRenderer(rendererDir);

  const recent = new FileRecent(path.join(app.getPath('userData'), 'recent.json'));
  session_ = new Session(
    {
      mode: 'electron',
      version: app.getVersion(),
      emit,
      recent,
      showOpenDialog: (kind) => showOpenDialog(win, kind),
    },
    pathsFromArgv(process.argv, process.cwd()),
  );
  const s = session_;
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, async (e, payload: unknown): Promise<Result<unknown>> => {
      if (!trustedSender(e)) return { ok: false, error: 'refused: the request does not come from the diskchain window' };
      return s.handle(channel, payload);
    });
  }
  win = createWindow(recent);
  win.on('closed', () => {
    win = null;
  });
  app.on('will-quit', () => void s.close());
}

main().catch((e: unknown) => {
  process.stderr.write(`diskchain: ${errorText(e)}\n`);
  app.exit(1);
});
