// diskchain's privileged helper: started by the app through pkexec (or directly when the app
// is root), it reads one JSON request per line on stdin and answers one JSON line on stdout.
// It re-inspects and re-plans every change itself and refuses anything that differs from what
// it was asked; see protocol.ts for the verbs.
import { MAX_LINE } from '../change/contract.js';
import { handleLine } from './server.js';

process.umask(0o022);

let buffered: Buffer[] = [];
let size = 0;
let queue: Promise<void> = Promise.resolve();

function answer(line: string): void {
  const res = handleLine(line);
  process.stdout.write(JSON.stringify(res) + '\n');
}

process.stdin.on('data', (chunk: Buffer) => {
  let start = 0;
  for (;;) {
    const nl = chunk.indexOf(10, start);
    if (nl < 0) break;
    const part = chunk.subarray(start, nl);
    const line = Buffer.concat([...buffered, part]).toString('utf8');
    buffered = [];
    size = 0;
    start = nl + 1;
    if (line.trim()) queue = queue.then(() => answer(line));
  }
  if (start < chunk.length) {
    const rest = chunk.subarray(start);
    size += rest.length;
    if (size > MAX_LINE) {
      process.stdout.write(JSON.stringify({ id: null, ok: false, error: `request longer than ${MAX_LINE} bytes` }) + '\n');
      process.exit(2);
    }
    buffered.push(Buffer.from(rest));
  }
});

process.stdin.on('end', () => {
  void queue.then(() => process.exit(0));
});
