// Builds everything `npm start`, the CLI and the tests run: the Node/Electron side with
// esbuild (one bundle per entry, so the CLI starts fast), the renderer with Vite.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const out = 'dist/electron';
const node = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning', external: ['koffi', 'electron'] };
const esm = { ...node, format: 'esm', banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } };

const entries = [
  // The diskchain command (inspect, scan, relabel, restore, undo, recover, serve).
  // Split so each command loads only its own code; chunks sit beside the entries (the helper and
  // the worker are found relative to the code that starts them).
  { entryPoints: { cli: 'electron/cli/main.ts' }, outdir: out, splitting: true, chunkNames: 'chunk-[hash]', ...esm, banner: { js: '#!/usr/bin/env node\n' + esm.banner.js } },
  // The privileged helper, started by pkexec or directly as root; found next to the bundles.
  { entryPoints: ['electron/helper/main.ts'], outfile: `${out}/helper.js`, ...esm },
  // Header parsing and scanning off the main event loop (serve and Electron main).
  { entryPoints: ['electron/server/inspect-worker.ts'], outfile: `${out}/inspect-worker.js`, ...esm },
  // The Electron main process and its sandboxed preload (which must be CommonJS).
  { entryPoints: ['electron/main/main.ts'], outfile: `${out}/main.js`, ...esm },
  { entryPoints: ['electron/main/preload.ts'], outfile: `${out}/preload.cjs`, ...node, format: 'cjs' },
];

fs.rmSync(out, { recursive: true, force: true });
await Promise.all(entries.map((e) => esbuild.build(e)));
fs.chmodSync(`${out}/cli.js`, 0o755);
if (fs.existsSync('renderer/index.html')) {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
