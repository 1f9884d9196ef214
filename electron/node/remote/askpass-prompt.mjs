// ssh's askpass for diskchain (SSH_ASKPASS): ssh runs it with the prompt as its one argument and
// reads the answer from its stdout. It asks the diskchain that started ssh, over the unix socket
// named in its environment, and exits 1 (ssh's "cancelled") when there is no answer.
import * as net from 'node:net';

const MAX_ANSWER = 64 * 1024;
const socket = process.env.DISKCHAIN_ASKPASS_SOCKET;
const token = process.env.DISKCHAIN_ASKPASS_TOKEN;
if (!socket || !token) process.exit(1);

const prompt = (process.argv[2] ?? '').slice(0, 4096);
const conn = net.connect(socket);
let reply = '';
conn.setEncoding('utf8');
conn.on('connect', () => conn.write(`${JSON.stringify({ token, prompt })}\n`));
conn.on('data', (text) => {
  reply += text;
  if (reply.length > MAX_ANSWER) process.exit(1);
});
conn.on('end', () => {
  let answer;
  try {
    answer = JSON.parse(reply).answer;
  } catch {
    process.exit(1);
  }
  if (typeof answer !== 'string') process.exit(1);
  process.stdout.write(`${answer}\n`, () => process.exit(0));
});
conn.on('error', () => process.exit(1));
