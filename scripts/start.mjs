// `npm start [-- PATH...]` (after the build): the Electron app where its runtime is installed
// and a display exists; otherwise one line on stderr saying why, then `diskchain serve` (whose
// first line of stdout stays the URL with its token).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/**
 * The Electron binary, or null with the reason. Never `require('electron')`: when the binary is
 * missing, that tries to download it.
 */
function electronBinary() {
  const pkg = path.join(root, 'node_modules', 'electron');
  if (!fs.existsSync(path.join(pkg, 'package.json'))) return { bin: null, why: 'the electron package is not installed' };
  const pathTxt = path.join(pkg, 'path.txt');
  const rel = fs.existsSync(pathTxt) ? fs.readFileSync(pathTxt, 'utf8').trim() : null;
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH || path.join(pkg, 'dist');
  const bin = rel ? path.join(dist, rel) : null;
  if (!bin || !fs.existsSync(bin))
    return { bin: null, why: 'the Electron runtime is not installed (node_modules/electron/dist is missing)' };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { bin: null, why: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)' };
  }
  return { bin, why: null };
}

function run(cmd, argv) {
  const child = spawn(cmd, argv, { stdio: 'inherit', cwd: process.cwd() });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
}

const { bin, why } = electronBinary();
if (bin) {
  run(bin, [path.join(root, 'dist/electron/main.js'), ...args]);
} else {
  process.stderr.write(`diskchain: ${why}; starting \`diskchain serve\` instead: open the URL it prints in a browser.\n`);
  run(process.execPath, [path.join(root, 'dist/electron/cli.js'), 'serve', ...args]);
}
