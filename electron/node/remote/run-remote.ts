// `diskchain -H ssh://… COMMAND ARGS…`: the same command run on the remote through ssh, stdio
// passed through and the exit status kept, so `-H … inspect --json` prints what the remote prints.
// ssh's own failures (255) and a missing diskchain (127) are told as typed refusals naming the host.
import { spawn } from 'node:child_process';
import { classifySshFailure } from './errors.js';
import type { HostSpec } from './host-spec.js';
import { masterSlots } from './slots.js';
import { remoteCommand, sshArgs } from './ssh.js';

const STDERR_TAIL = 64 * 1024;

/** Run `diskchain ARGS` on the host; resolves with the exit status to exit with. */
export async function runRemote(spec: HostSpec, args: string[]): Promise<number> {
  const release = await masterSlots(spec.id).acquire();
  try {
    const child = spawn('ssh', sshArgs(spec, remoteCommand(args)), { stdio: ['inherit', 'inherit', 'pipe'] });
    let tail = '';
    child.stderr.on('data', (b: Buffer) => {
      process.stderr.write(b);
      tail = (tail + b.toString('utf8')).slice(-STDERR_TAIL);
    });
    const status = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
    const refusal = classifySshFailure(spec.id, status, tail);
    if (refusal) process.stderr.write(`diskchain: ${refusal.code}: ${refusal.message}\n`);
    return status ?? 1;
  } finally {
    release();
  }
}
