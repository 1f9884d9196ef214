// The askpass script from the built bundles: the agent bundle (dist/agent, copied to remotes)
// relays sudo's questions through an askpass wrapper that runs askpass-prompt.mjs found beside
// the bundle's own code; the wrapper a running bundled agent writes must name a file that exists.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SUDO_RELAY_METHOD } from '../../shared/agent.js';
import { tempDir } from '../support/qemu.js';
import { ROOT } from '../support/sshd.js';
import { stateDir } from '../support/state.js';

const bundle = tempDir('diskchain-askpass-bundle-');
const agentDir = path.join(bundle.dir, 'agent');
const runtime = path.join(bundle.dir, 'run');

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build.mjs', '--agent-out', agentDir], { cwd: ROOT, stdio: 'inherit' });
  fs.mkdirSync(runtime, { mode: 0o700 });
}, 600_000);

afterAll(() => bundle.cleanup());

it('the bundled agent opts into the sudo relay with an askpass script that exists', async () => {
  const agent = spawn(process.execPath, [path.join(agentDir, 'diskchain.mjs'), 'agent', '--stdio'], {
    env: { ...process.env, XDG_RUNTIME_DIR: runtime, DISKCHAIN_STATE_DIR: stateDir() },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  agent.stdout.on('data', (b: Buffer) => (out += b.toString()));
  try {
    agent.stdin.write(`${JSON.stringify({ id: 1, method: SUDO_RELAY_METHOD, params: {} })}\n`);
    await expect.poll(() => out.split('\n').some((l) => l.startsWith('{"id":1')), { timeout: 30_000 }).toBe(true);
    const dir = path.join(runtime, 'diskchain');
    const wrappers = fs.readdirSync(dir).filter((f) => /^askpass-.*\.sh$/.test(f));
    expect(wrappers).toHaveLength(1);
    const text = fs.readFileSync(path.join(dir, wrappers[0]!), 'utf8');
    const script = /'?([^'\s]*askpass-prompt\.mjs)'?/.exec(text)?.[1];
    expect(script && path.dirname(script)).toBe(agentDir);
    expect(fs.existsSync(script!), `${script} is not beside the agent bundle`).toBe(true);
  } finally {
    agent.stdin.end();
    await new Promise((r) => agent.once('close', r));
  }
}, 60_000);
