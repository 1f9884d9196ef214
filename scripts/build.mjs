// Builds everything `npm start`, the CLI and the tests run: the Node/Electron side with
// esbuild (one bundle per entry, so the CLI starts fast), the renderer with Vite.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const out = 'dist/electron';
const node = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning', external: ['koffi', 'electron'] };
const esm = { ...node, format: 'esm', banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } };

const entries = [
  { entryPoints: ['electron/cli/main.ts'], outfile: `${out}/cli.js`, ...esm, banner: { js: '#!/usr/bin/env node\n' + esm.banner.js } },
];

fs.rmSync(out, { recursive: true, force: true });
await Promise.all(entries.map((e) => esbuild.build(e)));
fs.chmodSync(`${out}/cli.js`, 0o755);
if (fs.existsSync('renderer/index.html')) {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
