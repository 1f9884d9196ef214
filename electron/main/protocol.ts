// The renderer's origin under Electron: app://diskchain/, served from dist/renderer with the
// same CSP as `diskchain serve`. Never file://, so a page can reach no file but its own assets.
import { protocol } from 'electron';
import * as fs from 'node:fs';
import { SECURITY_HEADERS, contentType, resolveAsset } from '../node/serve/web.js';

export const APP_SCHEME = 'app';
export const APP_HOST = 'diskchain';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** Before `ready`: app:// behaves like https (secure context, fetch, module scripts, workers). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, codeCache: true } },
  ]);
}

/** True for a URL of our own renderer. (URL.origin is "null" for custom schemes: compare parts.) */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const u = new URL(request.url);
    if (u.host !== APP_HOST || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return new Response('not found', { status: 404, headers: SECURITY_HEADERS });
    }
    const file = resolveAsset(rendererDir, u.pathname);
    if (!file) return new Response('not found', { status: 404, headers: SECURITY_HEADERS });
    const data = await fs.promises.readFile(file);
    return new Response(new Uint8Array(data), { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': contentType(file) } });
  });
}
