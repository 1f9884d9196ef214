// What both ways of serving the renderer share (Electron's app:// protocol and `diskchain
// serve`): the Content-Security-Policy, the other response headers, and finding a file of the
// built renderer without ever leaving its folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hub } from '../remote/hub.js';
import { provideRemoteHosts } from '../session/remote-hosts.js';

// Both front ends load this file: their sessions get the window's remote hosts (issue 15).
provideRemoteHosts((emit) => new Hub({ emit }));

/** No inline script or style, nothing from elsewhere; the elkjs layout worker is our own file. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Where the built renderer is: next to the bundle (dist/electron → dist/renderer) or from source. */
export function findRendererDir(from: string = import.meta.url): string | null {
  const here = path.dirname(fileURLToPath(from));
  const candidates = [
    process.env.DISKCHAIN_RENDERER_DIR,
    path.resolve(here, '../renderer'),
    // From source: electron/main/ and electron/node/serve/ are two and three levels down.
    path.resolve(here, '../../dist/renderer'),
    path.resolve(here, '../../../dist/renderer'),
  ].filter((x): x is string => !!x);
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? null;
}

/**
 * The file a URL path names inside the renderer folder (`/` is index.html), or null when it
 * is not a file there: `..`, encoded slashes, NUL bytes and links out of the folder all fail.
 */
export function resolveAsset(rendererDir: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  if (rel === '' || rel === '/') rel = '/index.html';
  const root = fs.realpathSync(rendererDir);
  const file = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
  if (!file.startsWith(root + path.sep)) return null;
  try {
    const real = fs.realpathSync(file);
    if (!real.startsWith(root + path.sep) || !fs.statSync(real).isFile()) return null;
    return real;
  } catch {
    return null;
  }
}
