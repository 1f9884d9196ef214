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
  { entryPoints: ['electron/node/core/scan-worker.ts'], outfile: `${out}/scan-worker.js`, ...esm },
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

// The agent as `diskchain agent --install-remote` copies it to a remote's ~/.local/share/diskchain:
// the whole CLI in one file (no chunks), the worker and the helper beside it, and koffi as the
// helper has it. It runs on the remote's own Node, down to Debian 12's 18.x.
// `--agent-out DIR` builds only the agent, into DIR (tests build one without touching dist/).
const agentOutArg = process.argv.indexOf('--agent-out');
const agentOnly = agentOutArg > 0 ? process.argv[agentOutArg + 1] : undefined;
const agentDir = agentOnly ?? 'dist/agent';
const agentKoffi = `${agentDir}/node_modules/koffi`;
const node18 = { ...esm, target: 'node18', sourcemap: false };
const agent = [
  { entryPoints: ['electron/node/cli/main.ts'], outfile: `${agentDir}/diskchain.mjs`, ...node18 },
  { entryPoints: ['electron/node/session/inspect-worker.ts'], outfile: `${agentDir}/inspect-worker.js`, ...node18 },
  { entryPoints: ['electron/node/core/scan-worker.ts'], outfile: `${agentDir}/scan-worker.js`, ...node18 },
  { entryPoints: ['electron/node/helper/main.ts'], outfile: `${agentDir}/helper.js`, ...node18 },
  {
    entryPoints: [koffiEntry],
    outfile: `${agentKoffi}/index.cjs`,
    ...node,
    target: 'node18',
    external: [],
    format: 'cjs',
    sourcemap: false,
  },
];

/** koffi's package.json and prebuilt addons into `dir` (a private node_modules/koffi). */
function copyKoffi(dir) {
  fs.writeFileSync(`${dir}/package.json`, JSON.stringify({ name: 'koffi', version: koffiPkg.version, main: 'index.cjs' }) + '\n');
  for (const d of fs.readdirSync(koffiAddons, { withFileTypes: true })) {
    const addon = path.join(koffiAddons, d.name, 'koffi.node');
    if (d.isDirectory() && fs.existsSync(addon)) {
      fs.mkdirSync(`${dir}/${d.name}`, { recursive: true });
      fs.copyFileSync(addon, `${dir}/${d.name}/koffi.node`);
    }
  }
}

function copyHelperFiles() {
  copyKoffi(koffiOut);
  // The launcher template and the polkit policy install-helper fills in and writes.
  for (const f of ['diskchain-helper.in', 'org.diskchain.helper.policy']) fs.copyFileSync(`electron/node/helper/${f}`, `${helperDir}/${f}`);
}

const targets = agentOnly ? [agentDir] : [out, helperDir, agentDir];
for (const d of targets) fs.rmSync(d, { recursive: true, force: true });
await Promise.all((agentOnly ? agent : [...entries, ...installable, ...agent]).map((e) => esbuild.build(e)));
copyKoffi(agentKoffi);
// The agent's sudo relay (remote/sudo-relay.ts) is an askpass too: sudo -A runs this script, found
// beside the bundle like the app's.
fs.copyFileSync('electron/node/remote/askpass-prompt.mjs', `${agentDir}/askpass-prompt.mjs`);
// The worker and helper are ESM in .js files: Node 18 reads those as CommonJS without this (Node
// 20.19+ detects the syntax, so the mistake shows only on the remote's older Node).
fs.writeFileSync(`${agentDir}/package.json`, JSON.stringify({ type: 'module', private: true }) + '\n');
fs.chmodSync(`${agentDir}/diskchain.mjs`, 0o755);
if (!agentOnly) {
  copyHelperFiles();
  // ssh's askpass (remote/askpass.ts finds it beside the code that starts ssh): plain JS, no imports of ours.
  fs.copyFileSync('electron/node/remote/askpass-prompt.mjs', `${out}/askpass-prompt.mjs`);
  fs.chmodSync(`${out}/cli.js`, 0o755);
}
if (!agentOnly && fs.existsSync('renderer/index.html')) {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
