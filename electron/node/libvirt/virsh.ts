// `virsh dumpxml NAME` when virsh is installed: run without a shell, with a time limit and a
// bounded output, and refused names that virsh would take as options.
import { execFile } from 'node:child_process';
import { MAX_XML_BYTES } from './xml.js';

export const VIRSH_TIMEOUT_MS = 15_000;

/** The domain XML of `name` from virsh (inactive definition with --inactive). */
export function virshDumpxml(name: string, opts: { inactive?: boolean; connect?: string } = {}): Promise<string> {
  if (!name || name.startsWith('-') || name.length > 1024 || name.includes('\0')) {
    return Promise.reject(new Error(`'${name}' is not a domain name virsh can be given`));
  }
  const args = [...(opts.connect ? ['--connect', opts.connect] : []), 'dumpxml', ...(opts.inactive ? ['--inactive'] : []), '--', name];
  return new Promise((resolve, reject) => {
    execFile(
      'virsh',
      args,
      { timeout: VIRSH_TIMEOUT_MS, maxBuffer: MAX_XML_BYTES, encoding: 'utf8', windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          if (e.code === 'ENOENT') return reject(new Error('virsh is not installed here: give the domain XML as a file or on stdin'));
          if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
            return reject(new Error(`virsh dumpxml ${name}: output larger than ${MAX_XML_BYTES} bytes`));
          if (e.killed) return reject(new Error(`virsh dumpxml ${name}: no answer within ${VIRSH_TIMEOUT_MS / 1000} s`));
          const msg = String(stderr).trim().split('\n').filter(Boolean).pop();
          return reject(new Error(`virsh dumpxml ${name} failed${msg ? `: ${msg}` : ''}`));
        }
        resolve(stdout);
      },
    );
  });
}
