// The agent bundle on a remote whose Node is 18 (Debian 12's packaged nodejs): the bundle is built
// into a temporary folder, copied with the one-step copy, and run by the node 18 first on the
// remote PATH: the hello, `-H … inspect --json` against a local inspect, and a scan.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectAgent } from '../../electron/node/remote/connection.js';
import { parseHostSpec } from '../../electron/node/remote/host-spec.js';
import { installRemoteAgent } from '../../electron/node/remote/install.js';
import { diskchain } from '../support/bin.js';
import { NODE18_VERSION, node18Bin } from '../support/node18.js';
import { qemuImg, tempDir } from '../support/qemu.js';
import { removeSourceAgent, ROOT, sshClient, sshUser, startSshd, type Sshd } from '../support/sshd.js';

const client = sshClient();
const user = sshUser('dcn18');
const images = tempDir('diskchain-n18-');
const bundle = tempDir('diskchain-n18-bundle-');
let sshd: Sshd;

beforeAll(async () => {
  Object.assign(process.env, client.env);
  const node18 = node18Bin();
  execFileSync(process.execPath, ['scripts/build.mjs', '--agent-out', path.join(bundle.dir, 'agent')], { cwd: ROOT, stdio: 'inherit' });
  // Node 18 is the only node the remote user's commands find.
  sshd = await startSshd('127.0.0.2', [user.name], client.keyPub, undefined, [`SetEnv PATH=${node18}:/usr/bin:/bin`]);
  client.trust(sshd);
  removeSourceAgent(user);
  fs.chmodSync(images.dir, 0o755);
  qemuImg(images.dir, 'create', '-q', '-f', 'qcow2', 'base.qcow2', '1M');
  qemuImg(images.dir, 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', 'top.qcow2');
  for (const f of ['base.qcow2', 'top.qcow2']) fs.chmodSync(path.join(images.dir, f), 0o644);
}, 600_000);

afterAll(async () => {
  await sshd?.stop();
  client.close();
  removeSourceAgent(user);
  images.cleanup();
  bundle.cleanup();
});

const url = () => `ssh://${user.name}@${sshd.addr}:${sshd.port}`;

it('the copied agent bundle says hello on Node 18, inspects like the local CLI and scans', async () => {
  const spec = parseHostSpec(url());
  await installRemoteAgent(spec, path.join(bundle.dir, 'agent'));
  const conn = await connectAgent(spec);
  try {
    expect(conn.hello).toMatchObject({ node: `v${NODE18_VERSION}`, uid: user.uid });
    expect(conn.hello!.capabilities).toContain('xattr-native');
    const scan = (await conn.request('scan', { paths: [images.dir] })) as { status: string; forest: { files: Array<{ path: string }> } };
    expect(scan.status).toBe('done');
    expect(scan.forest.files.map((f) => f.path).sort()).toEqual([path.join(images.dir, 'base.qcow2'), path.join(images.dir, 'top.qcow2')]);
  } finally {
    await conn.close();
  }
  const top = path.join(images.dir, 'top.qcow2');
  const local = diskchain(['inspect', '--json', top]);
  const remote = diskchain(['-H', url(), 'inspect', '--json', top], { env: client.env });
  expect(remote.stderr).toBe('');
  expect(remote.status).toBe(local.status);
  expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
});
