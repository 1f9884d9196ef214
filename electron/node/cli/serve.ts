// `diskchain serve [--port N] [--host ADDR] [PATH...]`: the desktop UI for a browser, on
// 127.0.0.1 unless told otherwise. The first line of stdout is the URL with its secret token.
import { Command } from 'commander';
import * as path from 'node:path';
import { findRendererDir, isLoopback, startServe } from '../serve/http.js';
import { VERSION } from './version.js';

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new Error(`--port takes a number from 0 to 65535, not '${value}'`);
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the UI to a browser over HTTP (127.0.0.1 by default); prints the URL, with its token, first')
    .argument('[paths...]', 'images or folders to open at start')
    .option('--port <n>', 'port to listen on (0: any free port)', port, 0)
    .option('--host <addr>', 'address to listen on; anything but loopback exposes the UI to the network', '127.0.0.1')
    .action(async (paths: string[], opts: { port: number; host: string }) => {
      const rendererDir = findRendererDir();
      if (!rendererDir) throw new Error('the renderer is not built (dist/renderer/index.html): run npm run build');
      const served = await startServe({
        host: opts.host,
        port: opts.port,
        paths: paths.map((p) => path.resolve(p)),
        rendererDir,
        version: VERSION,
      });
      process.stdout.write(`${served.url}\n`);
      if (!isLoopback(opts.host)) {
        process.stderr.write(
          `diskchain: listening on ${opts.host}: anyone who can reach it and has the URL can change file owners and labels\n`,
        );
      }
      process.stderr.write(
        'diskchain: serving; open the URL above in a browser (through an SSH tunnel from another machine). Ctrl-C stops.\n',
      );
      const stop = () => {
        void served.close().finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
