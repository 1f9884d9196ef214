// Typed failures of a remote host: each carries a code from shared/agent.ts and names the host.
import type { AgentErrorCode } from '../../../shared/agent.js';
import { NO_NODE } from './ssh.js';

export class RemoteError extends Error {
  constructor(
    readonly code: AgentErrorCode,
    readonly host: string,
    message: string,
  ) {
    super(message);
  }
}

export function installAdvice(host: string): string {
  return (
    `diskchain is not installed on ${host}: install it there (it must be on PATH as "diskchain"), ` +
    `or copy the agent with "diskchain agent --install-remote ssh://${host}" (needs Node.js 18 or newer on ${host})`
  );
}

/**
 * What a failed ssh run means, from its exit status and stderr; null when it is not a failure of
 * ssh or of starting diskchain (the remote command's own status).
 */
export function classifySshFailure(host: string, status: number | null, stderr: string): RemoteError | null {
  if (status === 127 && stderr.includes(NO_NODE)) {
    return new RemoteError(
      'agent-missing',
      host,
      `Node.js is missing on ${host}: install it there ("sudo apt install nodejs", version 18 or newer)`,
    );
  }
  if (status === 127) return new RemoteError('agent-missing', host, installAdvice(host));
  if (status !== 255) return null;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    return new RemoteError(
      'changed-host-key',
      host,
      `the host key of ${host} has changed: refusing to connect (someone may be intercepting the connection; if the key really changed, remove the old one with ssh-keygen -R)`,
    );
  }
  if (/Host key verification failed|No [A-Za-z0-9-]+ host key is known for/.test(stderr)) {
    return new RemoteError(
      'unknown-host-key',
      host,
      `the host key of ${host} is not known: trust it first (diskchain hosts add shows its fingerprint)`,
    );
  }
  if (/Permission denied|passphrase|password/i.test(stderr)) {
    return new RemoteError('needs-password', host, `${host} asks for a password or passphrase: ${lastLine(stderr)}`);
  }
  return new RemoteError('offline', host, `cannot reach ${host}: ${lastLine(stderr) || 'ssh failed'}`);
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}
