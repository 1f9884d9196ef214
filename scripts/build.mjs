// Builds everything `npm start`, the CLI and the tests run: the Node/Electron side with
// esbuild (one bundle per entry, so the CLI starts fast), the renderer with Vite.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const out = 'dist/electron';
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  external: ['koffi', 'electron'],
};
const esm = {
  ...node,
  format: 'esm',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};

const entries = [
  // The diskchain command (inspect, scan, relabel, restore, undo, recover, serve).
  // Split so each command loads only its own code; chunks sit beside the entries (the helper and
  // the worker are found relative to the code that starts them).
  {
    entryPoints: { cli: 'electron/node/cli/main.ts' },
    outdir: out,
    splitting: true,
    chunkNames: 'chunk-[hash]',
    ...esm,
    banner: { js: '#!/usr/bin/env node\n' + esm.banner.js },
  },
  // The privileged helper, started by pkexec or directly as root; found next to the bundles.
  { entryPoints: ['electron/node/helper/main.ts'], outfile: `${out}/helper.js`, ...esm },
  // Header parsing and scanning off the main event loop (serve and Electron main).
  { entryPoints: ['electron/node/session/inspect-worker.ts'], outfile: `${out}/inspect-worker.js`, ...esm },
  // The Electron main process and its sandboxed preload (which must be CommonJS).
  { entryPoints: ['electron/main/main.ts'], outfile: `${out}/main.js`, ...esm },
  { entryPoints: ['electron/main/preload.ts'], outfile: `${out}/preload.cjs`, ...node, format: 'cjs' },
];

// The helper as `diskchain install-helper` copies it to a root-owned folder: one ESM file plus a
// private node_modules holding koffi (its JavaScript bundled into one file, its prebuilt addons
// beside it, where koffi's loader looks), so the installed helper loads nothing from the checkout.
const helperDir = 'dist/helper';
const helperLib = `${helperDir}/lib`;
const koffiOut = `${helperLib}/node_modules/koffi`;
const require = createRequire(import.meta.url);
const koffiEntry = require.resolve('koffi');
const koffiPkg = JSON.parse(fs.readFileSync(path.join(path.dirname(koffiEntry), 'package.json'), 'utf8'));
const koffiAddons = path.dirname(require.resolve(`@koromix/koffi-${process.platform}-${process.arch}/package.json`));
const installable = [
  { entryPoints: ['electron/node/helper/main.ts'], outfile: `${helperLib}/helper.mjs`, ...esm, sourcemap: false },
  { entryPoints: [koffiEntry], outfile: `${koffiOut}/index.cjs`, ...node, external: [], format: 'cjs', sourcemap: false },
];

function copyHelperFiles() {
  fs.writeFileSync(`${koffiOut}/package.json`, JSON.stringify({ name: 'koffi', version: koffiPkg.version, main: 'index.cjs' }) + '\n');
  for (const d of fs.readdirSync(koffiAddons, { withFileTypes: true })) {
    const addon = path.join(koffiAddons, d.name, 'koffi.node');
    if (d.isDirectory() && fs.existsSync(addon)) {
      fs.mkdirSync(`${koffiOut}/${d.name}`, { recursive: true });
      fs.copyFileSync(addon, `${koffiOut}/${d.name}/koffi.node`);
    }
  }
  // The launcher template and the polkit policy install-helper fills in and writes.
  for (const f of ['diskchain-helper.in', 'org.diskchain.helper.policy']) fs.copyFileSync(`electron/node/helper/${f}`, `${helperDir}/${f}`);
}

for (const d of [out, helperDir]) fs.rmSync(d, { recursive: true, force: true });
await Promise.all([...entries, ...installable].map((e) => esbuild.build(e)));
copyHelperFiles();
fs.chmodSync(`${out}/cli.js`, 0o755);
if (fs.existsSync('renderer/index.html')) {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
