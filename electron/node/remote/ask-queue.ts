// A question of our own (sudo's, relayed by a host's agent) asked the way ssh's askpass asks:
// through the askpass socket with the token of the host's lease, so it waits its turn in the one
// queue that ssh's questions wait in, and two prompts never stand open together.
import * as net from 'node:net';

const MAX_REPLY = 64 * 1024;

/** The answer the prompt handler gave, or null (cancelled, or the socket went away). */
export function askInQueue(env: Record<string, string>, text: string): Promise<string | null> {
  const socket = env.DISKCHAIN_ASKPASS_SOCKET;
  const token = env.DISKCHAIN_ASKPASS_TOKEN;
  if (!socket || !token) return Promise.resolve(null);
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    let reply = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify({ token, prompt: text.slice(0, 4096) })}\n`));
    conn.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.length > MAX_REPLY) conn.destroy();
    });
    conn.on('close', () => {
      try {
        const answer = (JSON.parse(reply) as { answer?: unknown }).answer;
        resolve(typeof answer === 'string' ? answer : null);
      } catch {
        resolve(null);
      }
    });
    conn.on('error', () => undefined);
  });
}
