// Where a worker thread's script is: beside the bundle that starts it (dist/electron/NAME.js), or
// from source the .ts through tsx. Node 20 does not apply --import to workers, so from source the
// worker registers tsx itself before it loads the script.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The URL to start a worker with, `source` being the script's .ts URL and `bundled` its .js URL
 * in the build; null when the running build holds no such script.
 */
export function workerScript(from: string, source: URL, bundled: URL): URL | null {
  if (!from.endsWith('.ts')) return fs.existsSync(fileURLToPath(bundled)) ? bundled : null;
  const req = createRequire(from);
  const api = pathToFileURL(path.join(path.dirname(req.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(source.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
